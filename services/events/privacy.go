package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/consume"
	"github.com/verkosto/verkosto/internal/outbox"
)

const (
	// SettingRegistrationRetention ("events.registration_retention", a Go
	// duration) is how long after an event its registrations keep the
	// registrants' names, emails and needs; default a year.
	SettingRegistrationRetention = "events.registration_retention"
	defaultRetention             = 365 * 24 * time.Hour
	// SettingRetentionInterval ("events.retention_interval") is how often
	// the retention job runs; default hourly.
	SettingRetentionInterval = "events.retention_interval"
	// pseudonym replaces a registrant's name.
	pseudonym = "Osallistuja"
)

// pseudonymiseSQL clears what identifies a registrant; $1 is the time.
const pseudonymiseSQL = `UPDATE events.registrations r SET display_name = '` + pseudonym + `', email = NULL, person_id = NULL,
	organisation = '', dietary_needs = '', accessibility_needs = '', cancellation_token_hash = NULL,
	pseudonymise_time = $1, update_time = $1, version = r.version + 1`

// erasureConsumer pseudonymises an erased person's registrations: those made
// as the person, and public ones made with their email (recognised by its
// hash in the erasure change, which never carries the address).
func (s *Service) erasureConsumer(js jetstream.JetStream, logger *slog.Logger) *consume.Consumer {
	return &consume.Consumer{
		JS: js, Writer: s.w, Schema: Schema, Logger: logger,
		Name:        "events-erasures",
		Description: "erased persons' registrations pseudonymised",
		Subjects:    []string{outbox.SubjectPrefix + "._._.person.erased"},
		Apply: func(ctx context.Context, tx pgx.Tx, _ string, ch *changesv1.Change) ([]outbox.Event, error) {
			var e networksv1.PersonErased
			if err := ch.GetPayload().UnmarshalTo(&e); err != nil || e.GetPersonId() == "" {
				return nil, nil
			}
			_, err := tx.Exec(ctx, pseudonymiseSQL+` WHERE r.person_id = $2
				OR ($3 <> '' AND r.email IS NOT NULL AND encode(sha256(convert_to(lower(btrim(r.email)), 'UTF8')), 'hex') = $3)`,
				s.now(), e.GetPersonId(), e.GetEmailSha256())
			return nil, err
		},
	}
}

// Pseudonymise clears the registrants of events that ended longer ago than
// the retention, and returns how many registrations it cleared.
func (s *Service) Pseudonymise(ctx context.Context, retention time.Duration) (int64, error) {
	now := s.now()
	tag, err := s.pool.Exec(ctx, pseudonymiseSQL+` FROM events.events e
		WHERE e.id = r.event_id AND e.end_time < $2 AND r.pseudonymise_time IS NULL`, now, now.Add(-retention))
	return tag.RowsAffected(), err
}

// retentionJob runs Pseudonymise every interval.
func (s *Service) retentionJob(retention, interval time.Duration, logger *slog.Logger) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for {
			n, err := s.Pseudonymise(ctx, retention)
			if err != nil && ctx.Err() == nil {
				logger.Warn("pseudonymising past registrations failed", "err", err)
			} else if n > 0 {
				logger.Info("pseudonymised registrations of past events", "count", n)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(interval):
			}
		}
	}
}
