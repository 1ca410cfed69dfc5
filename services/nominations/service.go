package nominations

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/verkosto/verkosto/gen/verkosto/nominations/v1/nominationsv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/writer"
)

// Service implements verkosto.nominations.v1.NominationsService.
type Service struct {
	nominationsv1connect.UnimplementedNominationsServiceHandler
	pool *pgxpool.Pool
	now  func() time.Time
	w    *writer.Writer
	// notice is how long before a term ends its holder is told, and the seat
	// shows as needing a new nomination.
	notice time.Duration
	// interval of the term job.
	interval time.Duration
	logger   *slog.Logger
}

var discardLogger = slog.New(slog.DiscardHandler)

// Resource kinds of the changes this service publishes:
// verkosto.changes.<region>.<programme>.<kind>.<change>.
const (
	kindRequest    = "representation_request"
	kindNomination = "nomination"
)

// change is one change a write makes: its outbox event and its line in the
// request's history.
type change struct {
	ev           outbox.Event
	requestID    string
	nominationID string // "" for a change of the request itself
	from, to     string // states before and after
	note         string
}

// write runs fn in one transaction; the changes it returns go to the outbox
// and to the history in the same transaction.
func (s *Service) write(ctx context.Context, fn func(tx pgx.Tx) ([]change, error)) error {
	return s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		changes, err := fn(tx)
		if err != nil {
			return nil, err
		}
		return s.record(ctx, tx, changes)
	})
}

// create is write for a create carrying a request_id (see writer.Create).
func (s *Service) create(ctx context.Context, procedure, requestID string, hash []byte,
	fn func(tx pgx.Tx, id string) ([]change, error)) (string, error) {
	return s.w.Create(ctx, procedure, requestID, hash, ids.New(), func(tx pgx.Tx, id string) ([]outbox.Event, error) {
		changes, err := fn(tx, id)
		if err != nil {
			return nil, err
		}
		return s.record(ctx, tx, changes)
	})
}

// record appends the changes to the history and returns their events.
func (s *Service) record(ctx context.Context, tx pgx.Tx, changes []change) ([]outbox.Event, error) {
	actor := auth.Caller(ctx).Actor()
	now := s.now()
	events := make([]outbox.Event, 0, len(changes))
	for _, c := range changes {
		if _, err := tx.Exec(ctx, `INSERT INTO nominations.history (id, request_id, nomination_id, kind, change,
			from_state, to_state, time, actor_id, actor_name, actor_person_id, note)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			ids.New(), c.requestID, db.Null(c.nominationID), c.ev.Kind, c.ev.Name, c.from, c.to, now,
			actor.GetId(), actor.GetDisplayName(), actor.GetPersonId(), c.note); err != nil {
			return nil, err
		}
		events = append(events, c.ev)
	}
	return events, nil
}

// Row locks.
const (
	noLock    = ""
	forUpdate = " FOR UPDATE"
)

// canManage: the coordinator of the request's region × programme, or an
// admin, creates and cancels requests, and confirms or rejects nominations
// (for an outside body, recording the body's decision).
func canManage(p *auth.Principal, region, programme string) bool {
	return p.Coordinates(region, programme)
}

func denyManage(region, programme, what string) error {
	return apierr.Deny("only the coordinator of %s × %s or an admin may %s", region, programme, what)
}

// canRead: people who take part in the networks (admins, coordinators,
// leaders, association contacts) read every request, nomination and
// representation; a partner reads those of the regions and programmes its
// credential lists.
func canRead(p *auth.Principal, region, programme string) bool {
	return p.Reads(region, programme)
}

func denyRead(region, programme string) error {
	return apierr.Deny("your credential does not cover %s × %s", region, programme)
}

// isCurrentLeader: a leader binding on the network, a credential of a
// person, and that person an ACTIVE leader of the network in the networks
// projection. Both are required: the binding says the credential was issued
// to lead this network, the projection that the term has not ended since.
func isCurrentLeader(ctx context.Context, q db.DBTX, p *auth.Principal, networkID string) (bool, error) {
	if !p.Leads(networkID) || p.PersonID == "" {
		return false, nil
	}
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nominations.current_leaders WHERE network_id = $1 AND person_id = $2)`,
		networkID, p.PersonID).Scan(&ok)
	return ok, err
}

// speaksFor: the nominee themself (a credential of that person), or the
// contact of the association the nominee represents, on their behalf.
func speaksFor(p *auth.Principal, personID, associationID string) bool {
	return (p.PersonID != "" && p.PersonID == personID) || p.ActsFor(associationID)
}
