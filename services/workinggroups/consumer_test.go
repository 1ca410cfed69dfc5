package workinggroups_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/testenv"
)

// nomination is a confirmed nomination to a seat of group g.
func nomination(groupID, networkID, associationID string, seat int32, deputy bool, name string) *nominationsv1.Nomination {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	return &nominationsv1.Nomination{
		Id: ids.New(), RepresentationRequestId: "request-" + groupID, NetworkId: networkID, WorkingGroupId: groupID,
		Seat: seat, Deputy: deputy, PersonId: ids.New(), PersonDisplayName: name, AssociationId: associationID,
		State: nominationsv1.Nomination_STATE_CONFIRMED, TermStartTime: timestamppb.New(start),
		TermEndTime: timestamppb.New(start.AddDate(2, 0, 0)), Region: region, Programme: programme,
		NominatedBy: ids.New(), CreateTime: timestamppb.Now(), UpdateTime: timestamppb.Now(), Etag: "3",
	}
}

// publish publishes a nomination change as the nominations service would:
// a Change envelope with the nomination as payload, on its subject, with the
// given Nats-Msg-Id. It returns the change id.
func (s *setup) publish(change string, n *nominationsv1.Nomination, changeID, msgID string) string {
	s.t.Helper()
	if changeID == "" {
		changeID = ids.New()
	}
	if msgID == "" {
		msgID = changeID
	}
	payload, err := anypb.New(n)
	if err != nil {
		s.t.Fatal(err)
	}
	b, err := proto.Marshal(&changesv1.Change{
		Id: changeID, Time: timestamppb.Now(), Actor: &changesv1.Actor{Id: "leader-credential", DisplayName: "Liisa Leader"},
		Kind: "nomination", Change: change, AggregateId: n.GetId(), AggregateVersion: 3, Region: region, Programme: programme,
		Payload: payload, Service: "nominations",
	})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.JS.CreateOrUpdateStream(ctx, outbox.StreamConfig(1, 0)); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.JS.Publish(ctx, outbox.Subject(region, programme, "nomination", change), b, jetstream.WithMsgID(msgID)); err != nil {
		s.t.Fatalf("publish nomination.%s: %v", change, err)
	}
	return changeID
}

// waitMembers waits until the group's members (any state) satisfy cond.
func (s *setup) waitMembers(groupID string, cond func([]*workinggroupsv1.Member) bool) []*workinggroupsv1.Member {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := s.admin.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: groupID})
		if err != nil {
			s.t.Fatal(err)
		}
		if cond(res.GetMembers()) {
			return res.GetMembers()
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for members; have %v", res.GetMembers())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func byNomination(list []*workinggroupsv1.Member, nominationID string) *workinggroupsv1.Member {
	for _, m := range list {
		if m.GetNominationId() == nominationID {
			return m
		}
	}
	return nil
}

func TestNominationMakesMember(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	g := s.group("Asiakasohjauksen ja palveluohjauksen työryhmä", "")
	network, association := ids.New(), ids.New()
	if _, err := s.coordinator.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: g.GetId(),
		SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: network, Seats: 2, WithDeputies: true}}); err != nil {
		t.Fatal(err)
	}

	n := nomination(g.GetId(), network, association, 1, false, "Aino Edustaja")
	changeID := s.publish("confirmed", n, "", "")
	list := s.waitMembers(g.GetId(), func(l []*workinggroupsv1.Member) bool { return len(l) == 1 })
	m := list[0]
	if m.GetPersonId() != n.GetPersonId() || m.GetPersonDisplayName() != "Aino Edustaja" || m.GetRole() != workinggroupsv1.Member_ROLE_MEMBER ||
		m.GetAssociationId() != association || m.GetSource() != workinggroupsv1.Member_SOURCE_NOMINATION ||
		m.GetNominationId() != n.GetId() || m.GetSeatNetworkId() != network || m.GetDeputy() ||
		m.GetState() != workinggroupsv1.Member_STATE_ACTIVE || !m.GetTermStartTime().AsTime().Equal(n.GetTermStartTime().AsTime()) ||
		!m.GetTermEndTime().AsTime().Equal(n.GetTermEndTime().AsTime()) {
		t.Fatalf("nominated member: %v", m)
	}

	// A redelivery JetStream does not deduplicate (a new message id): the
	// change id is what counts. Then the seat's deputy; once the deputy is
	// there, the redelivery before it has been handled too (one at a time, in
	// stream order).
	s.publish("confirmed", n, changeID, ids.New())
	d := nomination(g.GetId(), network, ids.New(), 1, true, "Ville Varajäsen")
	d.RepresentationRequestId = n.GetRepresentationRequestId()
	s.publish("confirmed", d, "", "")
	list = s.waitMembers(g.GetId(), func(l []*workinggroupsv1.Member) bool { return byNomination(l, d.GetId()) != nil })
	if len(list) != 2 {
		t.Fatalf("%d members after a redelivered confirmation, want 2: %v", len(list), list)
	}
	dm := byNomination(list, d.GetId())
	if !dm.GetDeputy() || dm.GetDeputyOf() != m.GetId() {
		t.Fatalf("deputy: %v", dm)
	}
	var processed int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM workinggroups.processed_changes`).Scan(&processed); err != nil {
		t.Fatal(err)
	}
	if processed != 2 {
		t.Fatalf("%d processed changes, want 2", processed)
	}

	// The group view counts the filled seats; the association's groups include it.
	view, err := s.admin.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	a := view.GetWorkingGroup().GetSeatAllocations()[0]
	if a.GetFilledSeats() != 1 || a.GetOpenSeats() != 1 || a.GetFilledDeputySeats() != 1 || a.GetOpenDeputySeats() != 1 {
		t.Fatalf("seats after nominations: %v", a)
	}
	mine, err := s.admin.ListWorkingGroups(ctx, &workinggroupsv1.ListWorkingGroupsRequest{AssociationId: association})
	if err != nil || len(mine.GetWorkingGroups()) != 1 {
		t.Fatalf("groups of the association: %v %v", mine, err)
	}

	// The nomination ends: so does the membership, once.
	ended := clone(n)
	ended.State = nominationsv1.Nomination_STATE_ENDED
	ended.EndReason = nominationsv1.Nomination_END_REASON_RESIGNED
	ended.EndTime = timestamppb.New(time.Date(2026, 9, 30, 12, 0, 0, 0, time.UTC))
	endID := s.publish("ended", ended, "", "")
	s.publish("ended", ended, endID, ids.New())
	list = s.waitMembers(g.GetId(), func(l []*workinggroupsv1.Member) bool {
		return byNomination(l, n.GetId()).GetState() == workinggroupsv1.Member_STATE_ENDED
	})
	em := byNomination(list, n.GetId())
	if !em.GetEndTime().AsTime().Equal(ended.GetEndTime().AsTime()) {
		t.Fatalf("ended member: %v", em)
	}
	view, err = s.admin.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
	if err != nil || view.GetWorkingGroup().GetSeatAllocations()[0].GetOpenSeats() != 2 {
		t.Fatalf("seats after the end: %v %v", view, err)
	}

	// Each effect is a working group change of its own, made by the system.
	changes.Wait(func(list []testenv.Received) bool { return countSubject(list, prefix+"member_ended") >= 1 })
	time.Sleep(200 * time.Millisecond) // a second member_ended would have arrived by now
	for subject, want := range map[string]int{prefix + "member_added": 2, prefix + "member_ended": 1,
		"verkosto.changes." + region + "." + programme + ".nomination.confirmed": 3} {
		if got := countSubject(changes.All(), subject); got != want {
			t.Errorf("%d changes on %s, want %d", got, subject, want)
		}
	}
	added := changes.WaitFor(prefix + "member_added")
	var payload workinggroupsv1.Member
	if err := added.Change.GetPayload().UnmarshalTo(&payload); err != nil {
		t.Fatal(err)
	}
	if added.Change.GetActor().GetId() != "system" || payload.GetNominationId() != n.GetId() || added.Change.GetService() != "workinggroups" {
		t.Fatalf("member_added from a nomination: %v payload %v", added.Change, &payload)
	}
}

// Changes published while the service is not running are applied when it
// starts: the consumer is durable and delivers from the start of the stream.
func TestNominationsPublishedBeforeStart(t *testing.T) {
	s := newSetup(t, testenv.Options{NoBackground: true})
	g := s.group("Järjestöyhteistyön alatyöryhmä", "")
	network := ids.New()
	first := nomination(g.GetId(), network, ids.New(), 1, false, "Aino Aikainen")
	second := nomination(g.GetId(), network, ids.New(), 2, false, "Eino Ennakko")
	s.publish("confirmed", first, "", "")
	s.publish("confirmed", second, "", "")
	ended := clone(second)
	ended.State = nominationsv1.Nomination_STATE_ENDED
	s.publish("ended", ended, "", "")

	bg, stop := context.WithCancel(context.Background())
	wait := s.App.RunBackground(bg)
	t.Cleanup(func() { stop(); wait() })

	list := s.waitMembers(g.GetId(), func(l []*workinggroupsv1.Member) bool {
		a, b := byNomination(l, first.GetId()), byNomination(l, second.GetId())
		return a != nil && b != nil && b.GetState() == workinggroupsv1.Member_STATE_ENDED
	})
	if len(list) != 2 || byNomination(list, first.GetId()).GetState() != workinggroupsv1.Member_STATE_ACTIVE {
		t.Fatalf("members after start: %v", list)
	}
}

// Nominations the service has nothing to do with are acknowledged and
// skipped; the consumer goes on with the next change.
func TestNominationsIgnored(t *testing.T) {
	s := newSetup(t)
	g := s.group("Asiakasohjauksen työryhmä", "")
	closed := s.group("Päättynyt työryhmä", "")
	if _, err := s.coordinator.CloseWorkingGroup(ctx, &workinggroupsv1.CloseWorkingGroupRequest{Id: closed.GetId()}); err != nil {
		t.Fatal(err)
	}
	network := ids.New()
	outside := nomination("", network, ids.New(), 1, false, "Ulkoinen Edustaja") // a body outside Verkosto
	unknown := nomination(ids.New(), network, ids.New(), 1, false, "Tuntematon Ryhmä")
	toClosed := nomination(closed.GetId(), network, ids.New(), 1, false, "Myöhässä")
	// Ended before its confirmation is seen (out of order): no member.
	late := nomination(g.GetId(), network, ids.New(), 2, false, "Peruttu")
	lateEnded := clone(late)
	lateEnded.State = nominationsv1.Nomination_STATE_ENDED
	// From a request of another programme than the group's: not that
	// coordinator's seat to fill.
	foreign := nomination(g.GetId(), network, ids.New(), 1, false, "Vieras Ohjelma")
	foreign.Programme = "lape"
	for _, n := range []*nominationsv1.Nomination{outside, unknown, toClosed, foreign} {
		s.publish("confirmed", n, "", "")
	}
	s.publish("ended", lateEnded, "", "")
	s.publish("confirmed", late, "", "")
	// Not a nomination at all, on a nomination subject.
	if _, err := s.JS.Publish(ctx, outbox.Subject(region, programme, "nomination", "confirmed"), []byte("not a change")); err != nil {
		t.Fatal(err)
	}
	// The direct member already in the group is not nominated twice.
	direct := s.member(g.GetId(), workinggroupsv1.Member_ROLE_MEMBER, "Suora Jäsen")
	twice := nomination(g.GetId(), network, ids.New(), 3, false, "Suora Jäsen")
	twice.PersonId = direct.GetPersonId()
	s.publish("confirmed", twice, "", "")
	last := nomination(g.GetId(), network, ids.New(), 1, false, "Viimeinen")
	s.publish("confirmed", last, "", "")

	list := s.waitMembers(g.GetId(), func(l []*workinggroupsv1.Member) bool { return byNomination(l, last.GetId()) != nil })
	if len(list) != 2 || byNomination(list, late.GetId()) != nil || byNomination(list, twice.GetId()) != nil ||
		byNomination(list, foreign.GetId()) != nil {
		t.Fatalf("members: %v", list)
	}
	shut, err := s.admin.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: closed.GetId()})
	if err != nil || len(shut.GetMembers()) != 0 {
		t.Fatalf("members of the closed group: %v %v", shut, err)
	}
}

// The consumer rides out a NATS restart: a confirmation published after it
// is still applied.
func TestNominationConsumerSurvivesNATSRestart(t *testing.T) {
	s := newSetup(t)
	g := s.group("Asiakasohjauksen työryhmä", "")
	network := ids.New()
	before := nomination(g.GetId(), network, ids.New(), 1, false, "Ennen Katkoa")
	s.publish("confirmed", before, "", "")
	s.waitMembers(g.GetId(), func(l []*workinggroupsv1.Member) bool { return len(l) == 1 })

	s.StopNATS()
	time.Sleep(300 * time.Millisecond)
	s.StartNATS()
	after := nomination(g.GetId(), network, ids.New(), 2, false, "Katkon Jälkeen")
	deadline := time.Now().Add(10 * time.Second)
	for {
		// The test's own connection reconnects too; publish once it has.
		if _, err := s.JS.AccountInfo(ctx); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.publish("confirmed", after, "", "")
	list := s.waitMembers(g.GetId(), func(l []*workinggroupsv1.Member) bool { return byNomination(l, after.GetId()) != nil })
	if len(list) != 2 {
		t.Fatalf("members after the restart: %v", list)
	}
}
