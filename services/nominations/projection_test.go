package nominations_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go/jetstream"

	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/networks"
	"github.com/verkosto/verkosto/services/nominations"
	"github.com/verkosto/verkosto/services/workinggroups"
)

// tryNominate proposes person of association for any seat of r as leader c.
func tryNominate(c client, r *nominationsv1.RepresentationRequest, personID, associationID string) error {
	_, err := c.CreateNomination(ctx, &nominationsv1.CreateNominationRequest{Nomination: &nominationsv1.Nomination{
		RepresentationRequestId: r.GetId(), PersonId: personID, AssociationId: associationID}})
	return err
}

// leaderState waits until the projection holds leader id in state.
func (s *setup) leaderState(id, state string) {
	s.t.Helper()
	s.waitFor("leader "+id+" "+state, `SELECT EXISTS (SELECT 1 FROM nominations.projected_leaders WHERE id = $1 AND state = $2)`, id, state)
}

// membershipState waits until the projection holds membership id in state.
func (s *setup) membershipState(id, state string) {
	s.t.Helper()
	s.waitFor("membership "+id+" "+state, `SELECT EXISTS (SELECT 1 FROM nominations.projected_memberships WHERE id = $1 AND state = $2)`,
		id, state)
}

// republish publishes the last change on subject again under a new message
// id, as a redelivery JetStream does not deduplicate, and returns its
// stream sequence.
func (s *setup) republish(subject string) uint64 {
	s.t.Helper()
	stream, err := s.JS.Stream(ctx, outbox.StreamName)
	if err != nil {
		s.t.Fatal(err)
	}
	msg, err := stream.GetLastMsgForSubject(ctx, subject)
	if err != nil {
		s.t.Fatalf("last change on %s: %v", subject, err)
	}
	ack, err := s.JS.Publish(ctx, subject, msg.Data, jetstream.WithMsgID(ids.New()))
	if err != nil {
		s.t.Fatalf("republish: %v", err)
	}
	return ack.Sequence
}

// waitConsumed waits until the projection consumer has delivered and
// acknowledged everything up to stream sequence seq.
func (s *setup) waitConsumed(seq uint64) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		cons, err := s.JS.Consumer(ctx, outbox.StreamName, nominations.ProjectionConsumer)
		if err == nil {
			info, err := cons.Info(ctx)
			if err == nil && info.Delivered.Stream >= seq && info.NumAckPending == 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("projection consumer did not reach stream sequence %d", seq)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Leaders appointed and ended, memberships approved and left, arrive from
// the real networks service through NATS; a redelivered change, older or
// the newest, changes nothing.
func TestProjectionFromNetworks(t *testing.T) {
	s := newSetup(t)
	n := s.network(programme)
	r := s.request(n, 5, false)
	candidates := s.persons(2, n.member.GetId())

	// A second leader, from the second member association.
	p2 := s.persons(1, n.member2.GetId())[0]
	appointed, err := s.nets.AppointLeader(ctx, &networksv1.AppointLeaderRequest{NetworkId: n.net.GetId(), PersonId: p2.GetId(),
		AssociationId: n.member2.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	leader2 := s.client(s.TokenFor(p2.GetId(), auth.Binding{Role: auth.RoleLeader, Network: n.net.GetId()}))
	s.leaderState(appointed.GetLeader().GetId(), "ACTIVE")
	if err := tryNominate(leader2, r, candidates[0].GetId(), n.member.GetId()); err != nil {
		t.Fatalf("a newly appointed leader nominates: %v", err)
	}
	// The term ends: the same credential no longer nominates.
	if _, err := s.nets.EndLeaderTerm(ctx, &networksv1.EndLeaderTermRequest{Id: appointed.GetLeader().GetId()}); err != nil {
		t.Fatal(err)
	}
	s.leaderState(appointed.GetLeader().GetId(), "ENDED")
	wantCode(t, tryNominate(leader2, r, candidates[1].GetId(), n.member.GetId()), connect.CodePermissionDenied, "current leader")

	// Memberships: the outsider joins, its person can be nominated; it
	// leaves, its persons cannot.
	outsiders := s.persons(2, n.outsider.GetId())
	wantReason(t, tryNominate(n.leader, r, outsiders[0].GetId(), n.outsider.GetId()), "NOT_ACTIVE_MEMBER")
	joined := s.join(n.net.GetId(), n.outsider.GetId())
	s.membershipState(joined.GetId(), "ACTIVE")
	if err := tryNominate(n.leader, r, outsiders[0].GetId(), n.outsider.GetId()); err != nil {
		t.Fatalf("nominating from a newly approved member: %v", err)
	}
	if _, err := s.nets.LeaveMembership(ctx, &networksv1.LeaveMembershipRequest{Id: joined.GetId()}); err != nil {
		t.Fatal(err)
	}
	s.membershipState(joined.GetId(), "LEFT")
	wantReason(t, tryNominate(n.leader, r, outsiders[1].GetId(), n.outsider.GetId()), "NOT_ACTIVE_MEMBER")

	// Redeliveries: the appointment and the approval again (older than what
	// the projection holds), then the newest changes again (not newer).
	type row struct {
		state, changeID string
		version         int64
		updated         time.Time
	}
	read := func(table, id string) row {
		var x row
		if err := s.Pool.QueryRow(ctx, `SELECT state, change_id, version, update_time FROM nominations.`+table+` WHERE id = $1`,
			id).Scan(&x.state, &x.changeID, &x.version, &x.updated); err != nil {
			t.Fatal(err)
		}
		return x
	}
	leaderBefore := read("projected_leaders", appointed.GetLeader().GetId())
	memberBefore := read("projected_memberships", joined.GetId())
	var last uint64
	for _, subject := range []string{"network.leader_appointed", "network.member_approved", "network.leader_term_ended", "network.member_left"} {
		last = s.republish(subjects + subject)
	}
	s.waitConsumed(last)
	if got := read("projected_leaders", appointed.GetLeader().GetId()); got != leaderBefore {
		t.Fatalf("redelivered leader changes changed the projection: %v, was %v", got, leaderBefore)
	}
	if got := read("projected_memberships", joined.GetId()); got != memberBefore {
		t.Fatalf("redelivered membership changes changed the projection: %v, was %v", got, memberBefore)
	}
	if leaderBefore.state != "ENDED" || leaderBefore.version != 2 || memberBefore.state != "LEFT" {
		t.Fatalf("projection: leader %v, membership %v", leaderBefore, memberBefore)
	}
	wantCode(t, tryNominate(leader2, r, candidates[1].GetId(), n.member.GetId()), connect.CodePermissionDenied)
	wantReason(t, tryNominate(n.leader, r, outsiders[1].GetId(), n.outsider.GetId()), "NOT_ACTIVE_MEMBER")

	// The same, applied directly: not newer, not applied.
	p := nominations.NewProjection(s.Pool, s.JS, nil)
	applied, err := p.Apply(ctx, ids.New(), 1, &networksv1.Leader{Id: appointed.GetLeader().GetId(), NetworkId: n.net.GetId(),
		PersonId: p2.GetId(), AssociationId: n.member2.GetId(), State: networksv1.Leader_STATE_ACTIVE})
	if err != nil || applied {
		t.Fatalf("an old version applied: %v %v", applied, err)
	}

	// A person's new name reaches the nominations.
	if _, err := s.nets.UpdatePerson(ctx, &networksv1.UpdatePersonRequest{
		Person:     &networksv1.Person{Id: candidates[0].GetId(), FamilyName: "Uusinimi"},
		UpdateMask: fieldMask("family_name")}); err != nil {
		t.Fatal(err)
	}
	s.waitFor("the new name", `SELECT EXISTS (SELECT 1 FROM nominations.projected_persons WHERE id = $1 AND display_name LIKE '% Uusinimi')`,
		candidates[0].GetId())
	list, err := s.admin.ListNominations(ctx, &nominationsv1.ListNominationsRequest{PersonId: candidates[0].GetId()})
	if err != nil || len(list.GetNominations()) != 1 || list.GetNominations()[0].GetPersonDisplayName() != candidates[0].GetGivenName()+" Uusinimi" {
		t.Fatalf("nomination after a name change: %v %v", list, err)
	}
}

// holdProjection is the nominations module without its projection worker,
// which it hands to the test to run when it wants.
func holdProjection(held *app.Worker) app.Module {
	m := nominations.Module()
	inner := m.New
	m.New = func(ctx context.Context, deps app.Deps) (*app.Service, error) {
		svc, err := inner(ctx, deps)
		if err != nil {
			return nil, err
		}
		var keep []app.Worker
		for _, w := range svc.Workers {
			if w.Name == "networks" {
				*held = w
			} else {
				keep = append(keep, w)
			}
		}
		svc.Workers = keep
		return svc, nil
	}
	return m
}

// A projection consumer started after the changes were published catches
// up from the stream; stopped and started again, it resumes from its
// durable position.
func TestProjectionCatchesUpAfterStart(t *testing.T) {
	var held app.Worker
	s := newSetupWith(t, []app.Module{networks.Module(), workinggroups.Module(), holdProjection(&held)})
	changes := s.WatchChanges()
	n := s.networkUnsynced(programme)
	candidate := s.person("Myöhäinen", n.member.GetId())
	changes.WaitFor("verkosto.changes._._.person.created")
	changes.WaitFor(subjects + "network.leader_appointed")

	var empty bool
	if err := s.Pool.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM nominations.projected_leaders)
		AND NOT EXISTS (SELECT 1 FROM nominations.projected_networks)`).Scan(&empty); err != nil || !empty {
		t.Fatalf("projection filled without its consumer: %v", err)
	}
	_, err := s.coordinator.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{
		RepresentationRequest: s.newRequest(n, 1, false)})
	wantReason(t, err, "NETWORK_NOT_FOUND")

	run := func() (stop func()) {
		runCtx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := held.Run(runCtx); err != nil && runCtx.Err() == nil {
				t.Errorf("projection: %v", err)
			}
		}()
		return func() { cancel(); <-done }
	}
	stop := run()
	s.synced(n)
	s.waitFor("the candidate", `SELECT EXISTS (SELECT 1 FROM nominations.projected_persons WHERE id = $1)`, candidate.GetId())
	r := s.request(n, 2, false)
	s.nominate(n, r, candidate.GetId(), n.member.GetId(), 0, false)
	stop()

	// While it is stopped: a second leader is appointed.
	p2 := s.person("Toinen", n.member2.GetId())
	l2, err := s.nets.AppointLeader(ctx, &networksv1.AppointLeaderRequest{NetworkId: n.net.GetId(), PersonId: p2.GetId(),
		AssociationId: n.member2.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	changes.Wait(func(list []testenv.Received) bool {
		return countSubject(list, subjects+"network.leader_appointed") == 2
	})
	time.Sleep(100 * time.Millisecond)
	var known bool
	if err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nominations.projected_leaders WHERE id = $1)`,
		l2.GetLeader().GetId()).Scan(&known); err != nil || known {
		t.Fatalf("a stopped projection learned of a leader: %v", err)
	}
	stop = run()
	defer stop()
	s.leaderState(l2.GetLeader().GetId(), "ACTIVE")
	leader2 := s.client(s.TokenFor(p2.GetId(), auth.Binding{Role: auth.RoleLeader, Network: n.net.GetId()}))
	other := s.persons(1, n.member2.GetId())[0]
	if err := tryNominate(leader2, r, other.GetId(), n.member2.GetId()); err != nil {
		t.Fatalf("the leader appointed while the projection was stopped nominates: %v", err)
	}
	// It resumed rather than starting over: nothing was delivered twice.
	cons, err := s.JS.Consumer(ctx, outbox.StreamName, nominations.ProjectionConsumer)
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(ctx)
	if err != nil || info.NumRedelivered != 0 {
		t.Fatalf("consumer after restart: %+v %v", info, err)
	}
}
