package nominations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
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
	pool   *pgxpool.Pool
	js     jetstream.JetStream
	logger *slog.Logger
}

// NewProjection builds a projection consumer writing to pool, for tests that
// run one themselves; the module runs its own.
func NewProjection(pool *pgxpool.Pool, js jetstream.JetStream, logger *slog.Logger) *Projection {
	if logger == nil {
		logger = discardLogger
	}
	return &Projection{pool: pool, js: js, logger: logger}
}

// Run consumes until ctx ends; an error returns to the app, which restarts it.
func (p *Projection) Run(ctx context.Context) error {
	cons, err := p.consumer(ctx)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(64, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch networks changes: %w", err)
		}
		for msg := range batch.Messages() {
			p.handle(ctx, msg)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch networks changes: %w", err)
		}
	}
	return nil
}

// consumer makes sure the stream and the durable consumer exist, retrying
// with backoff until NATS answers.
func (p *Projection) consumer(ctx context.Context) (jetstream.Consumer, error) {
	backoff := 100 * time.Millisecond
	for {
		cons, err := p.ensure(ctx)
		if err == nil {
			return cons, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		p.logger.Warn("networks projection consumer not ready; will retry", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (p *Projection) ensure(ctx context.Context) (jetstream.Consumer, error) {
	stream, err := p.js.Stream(ctx, outbox.StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// Created as the relays create it; an existing stream is never
		// updated here, so the replicas and retention the relays set stay.
		stream, err = p.js.CreateStream(ctx, outbox.StreamConfig(1, 0))
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			stream, err = p.js.Stream(ctx, outbox.StreamName)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("changes stream: %w", err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:        ProjectionConsumer,
		Description:    "nominations: networks, memberships, leaders and persons from the networks service",
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		FilterSubjects: ProjectionSubjects,
		AckWait:        30 * time.Second,
		MaxAckPending:  256,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", ProjectionConsumer, err)
	}
	return cons, nil
}

// handle applies one message and acknowledges it after the commit. A message
// that is not a Change with a known payload is terminated; a failure to
// apply is negatively acknowledged and redelivered.
func (p *Projection) handle(ctx context.Context, msg jetstream.Msg) {
	var ch changesv1.Change
	if err := proto.Unmarshal(msg.Data(), &ch); err != nil {
		p.logger.Error("dropping a message that is not a Change", "subject", msg.Subject(), "err", err)
		msg.TermWithReason("not a verkosto.changes.v1.Change") //nolint:errcheck
		return
	}
	payload, err := ch.GetPayload().UnmarshalNew()
	if err != nil {
		p.logger.Error("dropping a change with an unknown payload", "subject", msg.Subject(), "change", ch.GetId(), "err", err)
		msg.TermWithReason("unknown payload") //nolint:errcheck
		return
	}
	changeID := ch.GetId()
	if changeID == "" {
		changeID = msg.Headers().Get(jetstream.MsgIDHeader)
	}
	applied, err := p.Apply(ctx, changeID, ch.GetAggregateVersion(), payload)
	if err != nil {
		if ctx.Err() != nil {
			return // redelivered after AckWait
		}
		p.logger.Warn("applying a networks change failed; it will be redelivered", "subject", msg.Subject(), "change", changeID, "err", err)
		msg.NakWithDelay(time.Second) //nolint:errcheck
		return
	}
	if !applied {
		p.logger.Debug("networks change not newer than the projection; ignored", "subject", msg.Subject(), "change", changeID,
			"version", ch.GetAggregateVersion())
	}
	if err := msg.DoubleAck(ctx); err != nil {
		p.logger.Warn("ack of an applied networks change failed", "change", changeID, "err", err)
	}
}

// Apply upserts one change's payload into the projection when its aggregate
// version is newer than the stored one; applied reports whether it was.
// Payloads the projection does not keep are ignored.
func (p *Projection) Apply(ctx context.Context, changeID string, version int64, payload proto.Message) (applied bool, err error) {
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
	default:
		return false, nil
	}
	tag, err := p.pool.Exec(ctx, sql, args...)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}
