package workinggroups

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
)

// ConsumerName is the durable JetStream consumer of nomination changes. It is
// durable: changes published while the service was down wait for it.
const ConsumerName = "workinggroups-nominations"

// NominationSubjects are the changes the consumer applies.
var NominationSubjects = []string{
	outbox.SubjectPrefix + ".*.*.nomination.confirmed",
	outbox.SubjectPrefix + ".*.*.nomination.ended",
}

// nominationConsumer turns confirmed and ended nominations into working group
// members. Each change is applied in one transaction together with its
// change id in processed_changes, and acknowledged after the commit: a
// redelivered change (a lost ack, a replayed stream) finds its id and does
// nothing. One change is in flight at a time (MaxAckPending 1), so a
// nomination's confirmed and ended changes apply in stream order.
type nominationConsumer struct {
	svc    *Service
	js     jetstream.JetStream
	logger *slog.Logger
}

// Run consumes until ctx ends; an error returns to the app, which restarts it.
func (c *nominationConsumer) Run(ctx context.Context) error {
	cons, err := c.consumer(ctx)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(16, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch nomination changes: %w", err)
		}
		for msg := range batch.Messages() {
			c.handle(ctx, msg)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch nomination changes: %w", err)
		}
	}
	return nil
}

// consumer makes sure the changes stream and the durable consumer exist,
// retrying until they do: the service may start before NATS is reachable or
// before any relay created the stream.
func (c *nominationConsumer) consumer(ctx context.Context) (jetstream.Consumer, error) {
	backoff := 100 * time.Millisecond
	for {
		cons, err := c.ensure(ctx)
		if err == nil {
			return cons, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c.logger.Warn("nomination consumer not ready; will retry", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (c *nominationConsumer) ensure(ctx context.Context) (jetstream.Consumer, error) {
	stream, err := c.js.Stream(ctx, outbox.StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// Created as the relays create it; an existing stream is left as it
		// is, so its replicas and retention set by the relays stay.
		stream, err = c.js.CreateOrUpdateStream(ctx, outbox.StreamConfig(1, 0))
	}
	if err != nil {
		return nil, fmt.Errorf("changes stream: %w", err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:        ConsumerName,
		Description:    "working group members from confirmed and ended nominations",
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		FilterSubjects: NominationSubjects,
		AckWait:        30 * time.Second,
		MaxAckPending:  1,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", ConsumerName, err)
	}
	return cons, nil
}

// handle applies one message and acknowledges it after the commit. A message
// that is not a nomination change is terminated (never redelivered); a
// failure to apply is negatively acknowledged and retried.
func (c *nominationConsumer) handle(ctx context.Context, msg jetstream.Msg) {
	var ch changesv1.Change
	var n nominationsv1.Nomination
	if err := proto.Unmarshal(msg.Data(), &ch); err != nil {
		c.logger.Error("dropping a message that is not a Change", "subject", msg.Subject(), "err", err)
		msg.TermWithReason("not a verkosto.changes.v1.Change") //nolint:errcheck
		return
	}
	if err := ch.GetPayload().UnmarshalTo(&n); err != nil {
		c.logger.Error("dropping a change whose payload is not a Nomination", "subject", msg.Subject(), "change", ch.GetId(), "err", err)
		msg.TermWithReason("payload is not a verkosto.nominations.v1.Nomination") //nolint:errcheck
		return
	}
	changeID := ch.GetId()
	if changeID == "" {
		changeID = msg.Headers().Get(jetstream.MsgIDHeader)
	}
	if changeID == "" {
		if meta, err := msg.Metadata(); err == nil {
			changeID = fmt.Sprintf("stream-seq:%d", meta.Sequence.Stream)
		}
	}
	name := msg.Subject()[strings.LastIndex(msg.Subject(), ".")+1:]
	if err := c.svc.applyNomination(ctx, changeID, msg.Subject(), name, &ch, &n, c.logger); err != nil {
		if ctx.Err() != nil {
			return // redelivered after AckWait, to this or another replica
		}
		c.logger.Warn("applying a nomination change failed; it will be redelivered", "subject", msg.Subject(), "change", changeID, "err", err)
		msg.NakWithDelay(time.Second) //nolint:errcheck
		return
	}
	if err := msg.DoubleAck(ctx); err != nil {
		// The change is applied; a redelivery finds it in processed_changes.
		c.logger.Warn("ack of an applied nomination change failed", "change", changeID, "err", err)
	}
}

// applyNomination applies one nomination change exactly once.
func (s *Service) applyNomination(ctx context.Context, changeID, subject, name string, ch *changesv1.Change,
	n *nominationsv1.Nomination, logger *slog.Logger) error {
	ctx = auth.WithPrincipal(ctx, auth.System)
	return s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		tag, err := tx.Exec(ctx, `INSERT INTO workinggroups.processed_changes (change_id, subject) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, changeID, subject)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, nil // applied before: a redelivery
		}
		switch name {
		case "confirmed":
			return s.nominationConfirmed(ctx, tx, ch, n, logger)
		case "ended":
			return s.nominationEnded(ctx, tx, ch, n, logger)
		}
		return nil, nil
	})
}

// nominationConfirmed adds the nominated person as an ACTIVE MEMBER
// representing the association, for a working group of this service.
func (s *Service) nominationConfirmed(ctx context.Context, tx pgx.Tx, ch *changesv1.Change, n *nominationsv1.Nomination,
	logger *slog.Logger) ([]outbox.Event, error) {
	log := logger.With("change", ch.GetId(), "nomination", n.GetId(), "working_group", n.GetWorkingGroupId())
	if n.GetWorkingGroupId() == "" {
		return nil, nil // a seat of a body outside Verkosto
	}
	if n.GetId() == "" || !ids.Valid(n.GetWorkingGroupId()) || !ids.Valid(n.GetPersonId()) ||
		(n.GetAssociationId() != "" && !ids.Valid(n.GetAssociationId())) {
		log.Error("ignoring a confirmed nomination with a missing or malformed id",
			"person", n.GetPersonId(), "association", n.GetAssociationId())
		return nil, nil
	}
	var ended, exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workinggroups.ended_nominations WHERE nomination_id = $1),
		EXISTS (SELECT 1 FROM workinggroups.members WHERE nomination_id = $1)`, n.GetId()).Scan(&ended, &exists); err != nil {
		return nil, err
	}
	if ended || exists {
		log.Info("nomination already applied or ended; nothing to add", "ended", ended)
		return nil, nil
	}
	g, err := getGroup(ctx, tx, n.GetWorkingGroupId(), forShare)
	if connect.CodeOf(err) == connect.CodeNotFound {
		log.Info("confirmed nomination for a working group not kept here; ignored")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if g.GetState() != workinggroupsv1.WorkingGroup_STATE_ACTIVE {
		log.Warn("confirmed nomination for a closed working group; no member added")
		return nil, nil
	}
	if n.GetRegion() != g.GetRegion() || n.GetProgramme() != g.GetProgramme() {
		// A request names its working group and the group's region ×
		// programme, whose coordinator confirms; a nomination routed to
		// another region × programme is not that coordinator's to confirm.
		log.Warn("confirmed nomination of another region × programme than the group's; no member added",
			"nomination_region", n.GetRegion(), "nomination_programme", n.GetProgramme())
		return nil, nil
	}
	var taken bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workinggroups.members
		WHERE working_group_id = $1 AND person_id = $2 AND role = 'MEMBER' AND state = 'ACTIVE')`,
		g.GetId(), n.GetPersonId()).Scan(&taken); err != nil {
		return nil, err
	}
	if taken {
		log.Warn("the nominated person is already an active member of the group; no second membership added", "person", n.GetPersonId())
		return nil, nil
	}
	now := s.now()
	row := memberRow{
		id: ids.New(), groupID: g.GetId(), personID: n.GetPersonId(), displayName: n.GetPersonDisplayName(),
		role: workinggroupsv1.Member_ROLE_MEMBER, associationID: n.GetAssociationId(), deputy: n.GetDeputy(),
		source: "NOMINATION", nominationID: n.GetId(), requestID: n.GetRepresentationRequestId(), seat: n.GetSeat(),
		termStart: now,
	}
	if ids.Valid(n.GetNetworkId()) {
		row.seatNetworkID = n.GetNetworkId()
	}
	switch {
	case n.GetTermStartTime() != nil:
		row.termStart = n.GetTermStartTime().AsTime()
	case ch.GetTime() != nil:
		row.termStart = ch.GetTime().AsTime()
	}
	if n.GetTermEndTime() != nil && n.GetTermEndTime().AsTime().After(row.termStart) {
		t := n.GetTermEndTime().AsTime()
		row.termEnd = &t
	}
	sameSeat := `working_group_id = $1 AND nomination_request_id = $2 AND nomination_seat = $3
		AND source = 'NOMINATION' AND state = 'ACTIVE' AND nomination_request_id <> ''`
	if row.deputy && row.requestID != "" {
		// The personal deputy of the seat stands in for the seat's member.
		err := tx.QueryRow(ctx, `SELECT id::text FROM workinggroups.members WHERE `+sameSeat+` AND NOT deputy
			ORDER BY id DESC LIMIT 1`, g.GetId(), row.requestID, row.seat).Scan(&row.deputyOf)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
	}
	if err := insertMember(ctx, tx, row, now); err != nil {
		return nil, err
	}
	added, err := getMember(ctx, tx, row.id, false)
	if err != nil {
		return nil, err
	}
	events := []outbox.Event{memberEvent("member_added", added)}
	if !row.deputy && row.requestID != "" {
		// A deputy confirmed before the seat's member now gets linked to it.
		rows, err := tx.Query(ctx, `UPDATE workinggroups.members SET deputy_of = $4, update_time = $5, version = version + 1
			WHERE `+sameSeat+` AND deputy AND deputy_of IS NULL RETURNING id::text`,
			g.GetId(), row.requestID, row.seat, row.id, now)
		if err != nil {
			return nil, err
		}
		linked, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		for _, id := range linked {
			m, err := getMember(ctx, tx, id, false)
			if err != nil {
				return nil, err
			}
			events = append(events, memberEvent("member_updated", m))
		}
	}
	return events, nil
}

// nominationEnded ends the member the nomination made. A nomination whose
// confirmation has not been applied is remembered, so that a late
// confirmation adds no member.
func (s *Service) nominationEnded(ctx context.Context, tx pgx.Tx, ch *changesv1.Change, n *nominationsv1.Nomination,
	logger *slog.Logger) ([]outbox.Event, error) {
	if n.GetWorkingGroupId() == "" || n.GetId() == "" {
		return nil, nil
	}
	endTime := s.now()
	if n.GetEndTime() != nil {
		endTime = n.GetEndTime().AsTime()
	}
	var memberID, state string
	err := tx.QueryRow(ctx, `SELECT id::text, state FROM workinggroups.members WHERE nomination_id = $1 FOR UPDATE`,
		n.GetId()).Scan(&memberID, &state)
	if errors.Is(err, pgx.ErrNoRows) {
		_, err := tx.Exec(ctx, `INSERT INTO workinggroups.ended_nominations (nomination_id, end_time) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, n.GetId(), endTime)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if state != "ACTIVE" {
		logger.Info("nomination ended; its member had already ended", "nomination", n.GetId(), "member", memberID, "change", ch.GetId())
		return nil, nil
	}
	return s.endMembers(ctx, tx, endTime, `m.id = $1`, memberID)
}
