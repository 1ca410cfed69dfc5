package workinggroups

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/consume"
	"github.com/verkosto/verkosto/internal/outbox"
)

// erasureConsumer replaces an erased person's name in the members and
// coordinators this service keeps: history stays, the person does not.
func (s *Service) erasureConsumer(js jetstream.JetStream, logger *slog.Logger) *consume.Consumer {
	return &consume.Consumer{
		JS: js, Writer: s.w, Schema: Schema, Logger: logger,
		Name:        "workinggroups-erasures",
		Description: "erased persons' names out of members and coordinators",
		Subjects:    []string{outbox.SubjectPrefix + "._._.person.erased"},
		Apply:       s.applyErasure,
	}
}

func (s *Service) applyErasure(ctx context.Context, tx pgx.Tx, _ string, ch *changesv1.Change) ([]outbox.Event, error) {
	var e networksv1.PersonErased
	if err := ch.GetPayload().UnmarshalTo(&e); err != nil || e.GetPersonId() == "" {
		return nil, nil
	}
	now := s.now()
	rows, err := tx.Query(ctx, `UPDATE workinggroups.members SET person_display_name = $2, update_time = $3, version = version + 1
		WHERE person_id = $1 RETURNING id::text`, e.GetPersonId(), e.GetDisplayName(), now)
	if err != nil {
		return nil, err
	}
	members, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `UPDATE workinggroups.working_groups SET coordinator_display_name = $2, update_time = $3, version = version + 1
		WHERE coordinator_person_id = $1 RETURNING id::text`, e.GetPersonId(), e.GetDisplayName(), now)
	if err != nil {
		return nil, err
	}
	groups, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var events []outbox.Event
	for _, id := range members {
		m, err := getMember(ctx, tx, id, false)
		if err != nil {
			return nil, err
		}
		events = append(events, memberEvent("member_updated", m))
	}
	for _, id := range groups {
		g, err := getGroup(ctx, tx, id, noLock)
		if err != nil {
			return nil, err
		}
		events = append(events, groupEvent("updated", g))
	}
	return events, nil
}
