package workinggroups

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/internal/consume"
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

// nominationConsumer turns confirmed and ended nominations into working
// group members, exactly once per change (see consume.Consumer).
func (s *Service) nominationConsumer(js jetstream.JetStream, logger *slog.Logger) *consume.Consumer {
	return &consume.Consumer{
		JS: js, Writer: s.w, Schema: Schema, Logger: logger,
		Name:        ConsumerName,
		Description: "working group members from confirmed and ended nominations",
		Subjects:    NominationSubjects,
		Apply: func(ctx context.Context, tx pgx.Tx, subject string, ch *changesv1.Change) ([]outbox.Event, error) {
			return s.applyNomination(ctx, tx, subject, ch, logger)
		},
	}
}

// applyNomination applies one nomination change; a change whose payload is
// not a nomination is logged and skipped.
func (s *Service) applyNomination(ctx context.Context, tx pgx.Tx, subject string, ch *changesv1.Change,
	logger *slog.Logger) ([]outbox.Event, error) {
	var n nominationsv1.Nomination
	if err := ch.GetPayload().UnmarshalTo(&n); err != nil {
		logger.Error("skipping a change whose payload is not a Nomination", "subject", subject, "change", ch.GetId(), "err", err)
		return nil, nil
	}
	switch subject[strings.LastIndex(subject, ".")+1:] {
	case "confirmed":
		return s.nominationConfirmed(ctx, tx, ch, &n, logger)
	case "ended":
		return s.nominationEnded(ctx, tx, ch, &n, logger)
	}
	return nil, nil
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
