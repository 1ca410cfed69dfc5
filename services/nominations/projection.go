package nominations

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/consume"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/writer"
)

// ProjectionConsumer is the durable JetStream consumer of the networks
// service's changes. Being durable, changes published while this service was
// down (or before it first started, as far as the stream still keeps them)
// wait for it.
const ProjectionConsumer = "nominations-networks"

// ProjectionSubjects are the changes the projection reads: networks,
// memberships and leaders (kind network), and persons (kind person).
var ProjectionSubjects = []string{
	outbox.SubjectPrefix + ".*.*.network.>",
	outbox.SubjectPrefix + ".*.*.person.>",
}

// Projection keeps the nominations service's copy of what it needs from the
// networks service: networks (region and programme), memberships (which
// associations are active members), leaders (who currently leads) and
// persons (display name and associations). Each aggregate is one row at the
// newest aggregate version seen; a change whose version is not newer than
// the row's changes nothing, so a redelivered or replayed change, or an older
// one arriving late, is harmless. The message is acknowledged after the
// upsert commits.
type Projection struct {
	pool     *pgxpool.Pool
	consumer *consume.Consumer
}

// NewProjection builds a projection consumer writing to pool, for tests that
// run one themselves; the module runs its own.
func NewProjection(pool *pgxpool.Pool, js jetstream.JetStream, logger *slog.Logger) *Projection {
	if logger == nil {
		logger = discardLogger
	}
	p := &Projection{pool: pool}
	p.consumer = &consume.Consumer{
		JS: js, Writer: writer.New(pool, "nominations", Schema, nil, nil), Schema: Schema, Logger: logger,
		Name:        ProjectionConsumer,
		Description: "nominations: networks, memberships, leaders and persons from the networks service",
		Subjects:    ProjectionSubjects,
		Apply: func(ctx context.Context, tx pgx.Tx, subject string, ch *changesv1.Change) ([]outbox.Event, error) {
			payload, err := ch.GetPayload().UnmarshalNew()
			if err != nil {
				logger.Error("skipping a change with an unknown payload", "subject", subject, "change", ch.GetId(), "err", err)
				return nil, nil
			}
			_, err = p.apply(ctx, tx, ch.GetId(), ch.GetAggregateVersion(), payload)
			return nil, err
		},
	}
	return p
}

// Run consumes until ctx ends (see consume.Consumer).
func (p *Projection) Run(ctx context.Context) error { return p.consumer.Run(ctx) }

// Apply upserts one change's payload (see apply) outside a consumer.
func (p *Projection) Apply(ctx context.Context, changeID string, version int64, payload proto.Message) (bool, error) {
	return p.apply(ctx, p.pool, changeID, version, payload)
}

// apply upserts one change's payload into the projection when its aggregate
// version is newer than the stored one; applied reports whether it was.
// Payloads the projection does not keep are ignored. An erased person's name
// goes out of the projection and of the nominations at once.
func (p *Projection) apply(ctx context.Context, q db.DBTX, changeID string, version int64, payload proto.Message) (applied bool, err error) {
	var sql string
	var args []any
	state := func(s fmt.Stringer) string { return strings.TrimPrefix(s.String(), "STATE_") }
	switch x := payload.(type) {
	case *networksv1.Network:
		if !ids.Valid(x.GetId()) {
			return false, nil
		}
		sql = `INSERT INTO nominations.projected_networks AS t (id, region, programme, name_fi, version, change_id)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET region = EXCLUDED.region, programme = EXCLUDED.programme, name_fi = EXCLUDED.name_fi,
				version = EXCLUDED.version, change_id = EXCLUDED.change_id, update_time = now()
			WHERE t.version < EXCLUDED.version`
		args = []any{x.GetId(), x.GetRegion(), x.GetProgramme(), x.GetName().GetFi(), version, changeID}
	case *networksv1.Membership:
		if !ids.Valid(x.GetId()) || !ids.Valid(x.GetNetworkId()) || !ids.Valid(x.GetAssociationId()) {
			return false, nil
		}
		sql = `INSERT INTO nominations.projected_memberships AS t (id, network_id, association_id, state, version, change_id)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, version = EXCLUDED.version, change_id = EXCLUDED.change_id,
				update_time = now()
			WHERE t.version < EXCLUDED.version`
		args = []any{x.GetId(), x.GetNetworkId(), x.GetAssociationId(), state(x.GetState()), version, changeID}
	case *networksv1.Leader:
		if !ids.Valid(x.GetId()) || !ids.Valid(x.GetNetworkId()) || !ids.Valid(x.GetPersonId()) || !ids.Valid(x.GetAssociationId()) {
			return false, nil
		}
		sql = `INSERT INTO nominations.projected_leaders AS t (id, network_id, person_id, association_id, state, version, change_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, version = EXCLUDED.version, change_id = EXCLUDED.change_id,
				update_time = now()
			WHERE t.version < EXCLUDED.version`
		args = []any{x.GetId(), x.GetNetworkId(), x.GetPersonId(), x.GetAssociationId(), state(x.GetState()), version, changeID}
	case *networksv1.Person:
		if !ids.Valid(x.GetId()) {
			return false, nil
		}
		var associations []string
		for _, a := range x.GetAssociationIds() {
			if ids.Valid(a) {
				associations = append(associations, a)
			}
		}
		name := x.GetDisplayName()
		if name == "" {
			name = strings.TrimSpace(x.GetGivenName() + " " + x.GetFamilyName())
		}
		sql = `INSERT INTO nominations.projected_persons AS t (id, display_name, association_ids, version, change_id)
			VALUES ($1, $2, $3::uuid[], $4, $5)
			ON CONFLICT (id) DO UPDATE SET display_name = EXCLUDED.display_name, association_ids = EXCLUDED.association_ids,
				version = EXCLUDED.version, change_id = EXCLUDED.change_id, update_time = now()
			WHERE t.version < EXCLUDED.version`
		args = []any{x.GetId(), name, db.NonNil(associations), version, changeID}
	case *networksv1.PersonErased:
		if !ids.Valid(x.GetPersonId()) {
			return false, nil
		}
		if _, err := q.Exec(ctx, `UPDATE nominations.nominations SET person_display_name = $2 WHERE person_id = $1`,
			x.GetPersonId(), x.GetDisplayName()); err != nil {
			return false, err
		}
		sql = `UPDATE nominations.projected_persons SET display_name = $2, version = $3, change_id = $4, update_time = now()
			WHERE id = $1 AND version < $3`
		args = []any{x.GetPersonId(), x.GetDisplayName(), version, changeID}
	default:
		return false, nil
	}
	tag, err := q.Exec(ctx, sql, args...)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}
