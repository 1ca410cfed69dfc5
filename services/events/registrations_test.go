package events_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
)

// checkInvariant verifies the registrations of an event with capacity c
// against the waitlist rules: never more confirmed than capacity; a
// waitlist only when full; every confirmed registration before every
// waitlisted one in registration order; positions 1..n in that order.
func checkInvariant(t *testing.T, list []*eventsv1.Registration, c int) (confirmed, waitlisted int) {
	t.Helper()
	lastConfirmed, firstWaitlisted := -1, len(list)
	for i, r := range list {
		switch r.GetState() {
		case eventsv1.Registration_STATE_CONFIRMED:
			confirmed++
			lastConfirmed = i
			if r.GetWaitlistPosition() != 0 {
				t.Fatalf("confirmed registration %s has position %d", r.GetId(), r.GetWaitlistPosition())
			}
		case eventsv1.Registration_STATE_WAITLISTED:
			waitlisted++
			firstWaitlisted = min(firstWaitlisted, i)
			if r.GetWaitlistPosition() != int32(waitlisted) {
				t.Fatalf("waitlist positions not contiguous in registration order: %s has %d, want %d", r.GetId(), r.GetWaitlistPosition(), waitlisted)
			}
		}
	}
	remaining := confirmed + waitlisted
	if confirmed != min(c, remaining) {
		t.Fatalf("%d confirmed of %d remaining registrations, capacity %d", confirmed, remaining, c)
	}
	if waitlisted > 0 && lastConfirmed > firstWaitlisted {
		t.Fatalf("a waitlisted registration (#%d) precedes a confirmed one (#%d)", firstWaitlisted, lastConfirmed)
	}
	return confirmed, waitlisted
}

// Capacity 5, 40 concurrent registrations (persons and members of the
// public), then 20 concurrent cancellations: the waitlist invariant holds
// throughout, and promotions follow registration order.
func TestCapacityUnderConcurrency(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	const capacityN, registrants, cancellations = 5, 40, 20
	e := s.published(programmeOrganiser("lape"), capacity(capacityN), public)
	coord := s.as(coordinator("lape"))
	anon := s.anonymous()

	type result struct {
		reg   *eventsv1.Registration
		token string
		err   error
	}
	results := make([]result, registrants)
	var wg sync.WaitGroup
	for i := range registrants {
		wg.Go(func() {
			var res *eventsv1.RegisterForEventResponse
			var err error
			if i%4 == 3 {
				res, err = anon.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(),
					DisplayName: fmt.Sprintf("Yleisö %02d", i), Email: fmt.Sprintf("yleiso%02d@example.org", i)})
			} else {
				res, err = coord.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(),
					PersonId: ids.New(), DisplayName: fmt.Sprintf("Henkilö %02d", i)})
			}
			results[i] = result{res.GetRegistration(), res.GetCancellationToken(), err}
		})
	}
	wg.Wait()
	confirmedResponses, positions := 0, []int{}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("registration %d: %v", i, r.err)
		}
		switch r.reg.GetState() {
		case eventsv1.Registration_STATE_CONFIRMED:
			confirmedResponses++
		case eventsv1.Registration_STATE_WAITLISTED:
			positions = append(positions, int(r.reg.GetWaitlistPosition()))
		}
	}
	slices.Sort(positions)
	for i, p := range positions {
		if p != i+1 {
			t.Fatalf("waitlist positions given at registration: %v", positions)
		}
	}
	if confirmedResponses != capacityN || len(positions) != registrants-capacityN {
		t.Fatalf("%d confirmed and %d waitlisted, want %d and %d", confirmedResponses, len(positions), capacityN, registrants-capacityN)
	}
	before := s.registrations(e.GetId())
	checkInvariant(t, before, capacityN)
	if ev := s.getEvent(e.GetId()); ev.GetConfirmedCount() != capacityN || ev.GetWaitlistCount() != registrants-capacityN {
		t.Fatalf("event counts: %d confirmed, %d waitlisted", ev.GetConfirmedCount(), ev.GetWaitlistCount())
	}

	// Cancel 20 at random, concurrently: each by whoever may (the public
	// with their token, the others by the coordinator).
	order := rand.Perm(registrants)[:cancellations]
	errs := make([]error, cancellations)
	for k, i := range order {
		wg.Go(func() {
			r := results[i]
			if r.token != "" {
				_, errs[k] = anon.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: r.reg.GetId(), CancellationToken: r.token})
			} else {
				_, errs[k] = coord.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: r.reg.GetId()})
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("cancel: %v", err)
		}
	}
	after := s.registrations(e.GetId())
	confirmed, waitlisted := checkInvariant(t, after, capacityN)
	if confirmed+waitlisted != registrants-cancellations {
		t.Fatalf("%d remaining, want %d", confirmed+waitlisted, registrants-cancellations)
	}
	// The registration order is the same list; the promoted are exactly the
	// ones waitlisted before and confirmed now.
	index := map[string]int{}
	var wasWaitlisted []string
	for i, r := range before {
		index[r.GetId()] = i
		if r.GetState() == eventsv1.Registration_STATE_WAITLISTED {
			wasWaitlisted = append(wasWaitlisted, r.GetId())
		}
	}
	// Promoted: every registration with a promote_time (some were cancelled
	// after promotion); among them all that were waitlisted and are confirmed now.
	promoted := map[string]bool{}
	for _, r := range after {
		if r.GetPromoteTime() != nil {
			promoted[r.GetId()] = true
		}
		if r.GetState() == eventsv1.Registration_STATE_CONFIRMED && slices.Contains(wasWaitlisted, r.GetId()) && r.GetPromoteTime() == nil {
			t.Fatalf("promoted registration %s has no promote_time", r.GetId())
		}
	}
	// registration_promoted changes arrive in commit order, which must be
	// registration order.
	waitChanges(t, changes, func(list []testenvReceived) bool {
		return countSubject(list, subjectOf("registration_cancelled")) == cancellations &&
			countSubject(list, subjectOf("registration_promoted")) == len(promoted)
	})
	last := -1
	for _, r := range changes.All() {
		if r.Subject != subjectOf("registration_promoted") {
			continue
		}
		var p eventsv1.RegistrationChange
		if err := r.Change.GetPayload().UnmarshalTo(&p); err != nil {
			t.Fatal(err)
		}
		if !promoted[p.GetRegistrationId()] || p.GetState() != eventsv1.Registration_STATE_CONFIRMED {
			t.Fatalf("promotion of %s (%v) unexpected", p.GetRegistrationId(), p.GetState())
		}
		if index[p.GetRegistrationId()] <= last {
			t.Fatalf("promotions out of registration order")
		}
		last = index[p.GetRegistrationId()]
	}
	if n := countSubject(changes.All(), subjectOf("registration_confirmed")); n != capacityN {
		t.Fatalf("%d registration_confirmed changes, want %d", n, capacityN)
	}
	if n := countSubject(changes.All(), subjectOf("registration_waitlisted")); n != registrants-capacityN {
		t.Fatalf("%d registration_waitlisted changes, want %d", n, registrants-capacityN)
	}
}

func countSubject(list []testenvReceived, subject string) int {
	n := 0
	for _, r := range list {
		if r.Subject == subject {
			n++
		}
	}
	return n
}

func TestCapacityChanges(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	e := s.published(programmeOrganiser("lape"), capacity(2))
	var regs []*eventsv1.Registration
	for i := range 6 {
		res, err := s.admin.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), PersonId: ids.New(), DisplayName: fmt.Sprintf("H%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		regs = append(regs, res.GetRegistration())
	}
	if regs[2].GetState() != eventsv1.Registration_STATE_WAITLISTED || regs[5].GetWaitlistPosition() != 4 {
		t.Fatalf("waitlist: %v / %v", regs[2], regs[5])
	}
	grow := proto.CloneOf(s.getEvent(e.GetId()))
	grow.Capacity = 4
	res, err := s.admin.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: grow, UpdateMask: fieldMask("capacity")})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetEvent().GetConfirmedCount() != 4 || res.GetEvent().GetWaitlistCount() != 2 {
		t.Fatalf("after growing: %v", res.GetEvent())
	}
	list := s.registrations(e.GetId())
	checkInvariant(t, list, 4)
	if list[2].GetState() != eventsv1.Registration_STATE_CONFIRMED || list[3].GetState() != eventsv1.Registration_STATE_CONFIRMED ||
		list[4].GetWaitlistPosition() != 1 || list[5].GetWaitlistPosition() != 2 {
		t.Fatalf("the first two on the waitlist should be promoted: %v", list)
	}
	// Capacity may not go below the confirmed.
	shrink := proto.CloneOf(res.GetEvent())
	shrink.Capacity = 3
	_, err = s.admin.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: shrink, UpdateMask: fieldMask("capacity")})
	wantCode(t, err, connect.CodeFailedPrecondition, "4 confirmed")
	// Unlimited takes everyone.
	shrink.Capacity = 0
	res, err = s.admin.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: shrink, UpdateMask: fieldMask("capacity")})
	if err != nil || res.GetEvent().GetConfirmedCount() != 6 || res.GetEvent().GetWaitlistCount() != 0 {
		t.Fatalf("unlimited: %v %v", res, err)
	}
	waitChanges(t, changes, func(list []testenvReceived) bool {
		return countSubject(list, subjectOf("capacity_changed")) == 2 && countSubject(list, subjectOf("registration_promoted")) == 4
	})
}

// Registration opens and closes on the injectable clock.
func TestRegistrationWindow(t *testing.T) {
	s := newSetup(t)
	now := s.Clock.Now()
	e := s.published(programmeOrganiser("lape"), func(e *eventsv1.Event) {
		e.RegistrationOpenTime = timestamppb.New(now.Add(2 * 24 * time.Hour))
		e.RegistrationDeadlineTime = timestamppb.New(now.Add(5 * 24 * time.Hour))
	})
	me, _ := s.person()
	_, err := me.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "opens")
	s.Clock.Advance(3 * 24 * time.Hour)
	res, err := me.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), DisplayName: "Minä Itse"})
	if err != nil || res.GetRegistration().GetState() != eventsv1.Registration_STATE_CONFIRMED {
		t.Fatalf("within the window: %v %v", res, err)
	}
	s.Clock.Advance(3 * 24 * time.Hour)
	other, _ := s.person()
	_, err = other.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "closed")

	// Without a deadline registration closes when the event starts.
	open := s.published(programmeOrganiser("lape"))
	if _, err := other.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: open.GetId()}); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(open.GetStartTime().AsTime().Sub(s.Clock.Now()))
	_, err = me.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: open.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "closed")
}

func TestDoubleRegistration(t *testing.T) {
	s := newSetup(t)
	e := s.published(programmeOrganiser("lape"), public, capacity(10))
	me, personID := s.person()
	// Concurrent attempts of one person: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = me.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), DisplayName: "Minä"})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantCode(t, err, connect.CodeAlreadyExists, "already registered")
	}
	if ok != 1 {
		t.Fatalf("%d registrations of one person succeeded", ok)
	}
	// The organiser registering the same person is a double too.
	_, err := s.admin.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), PersonId: personID, DisplayName: "Minä"})
	wantCode(t, err, connect.CodeAlreadyExists)
	// The same email, in any case, is a double for public registrations.
	anon := s.anonymous()
	first, err := anon.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), DisplayName: "Maija", Email: "maija@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = anon.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), DisplayName: "Maija M", Email: "Maija@Example.org"})
	wantCode(t, err, connect.CodeAlreadyExists)
	// After cancelling, registering again is allowed.
	if _, err := anon.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: first.GetRegistration().GetId(), CancellationToken: first.GetCancellationToken()}); err != nil {
		t.Fatal(err)
	}
	_, err = anon.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: first.GetRegistration().GetId(), CancellationToken: first.GetCancellationToken()})
	wantCode(t, err, connect.CodeFailedPrecondition, "CANCELLED")
	if _, err := anon.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), DisplayName: "Maija", Email: "maija@example.org"}); err != nil {
		t.Fatal(err)
	}
	// A retried public registration (same request_id) returns the same
	// registration with a fresh token; the old token stops working.
	req := &eventsv1.RegisterForEventRequest{EventId: e.GetId(), DisplayName: "Pekka", Email: "pekka@example.org", RequestId: "lomake-42"}
	r1, err := anon.RegisterForEvent(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := anon.RegisterForEvent(ctx, req)
	if err != nil || r2.GetRegistration().GetId() != r1.GetRegistration().GetId() || r2.GetCancellationToken() == r1.GetCancellationToken() {
		t.Fatalf("retry: %v %v", r2, err)
	}
	_, err = anon.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: r1.GetRegistration().GetId(), CancellationToken: r1.GetCancellationToken()})
	wantCode(t, err, connect.CodePermissionDenied)
	if _, err := anon.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: r1.GetRegistration().GetId(), CancellationToken: r2.GetCancellationToken()}); err != nil {
		t.Fatal(err)
	}
}

func TestPermissions(t *testing.T) {
	s := newSetup(t)
	networkA, networkB := ids.New(), ids.New()
	assocA, assocB := ids.New(), ids.New()
	lapeCoord := s.as(coordinator("lape"))
	otherCoord := s.as(coordinator("ikaihmiset"))
	otherRegion := s.as(auth.Binding{Role: auth.RoleCoordinator, Region: "lappi", Programme: "lape"})
	leaderA := s.as(auth.Binding{Role: auth.RoleLeader, Network: networkA})
	leaderB := s.as(auth.Binding{Role: auth.RoleLeader, Network: networkB})
	contactA := s.as(auth.Binding{Role: auth.RoleAssociation, Association: assocA})
	contactB := s.as(auth.Binding{Role: auth.RoleAssociation, Association: assocB})
	partnerHere := s.as(auth.Binding{Role: auth.RolePartner, Region: region, Programme: "lape"})
	partnerFar := s.as(auth.Binding{Role: auth.RolePartner, Region: "lappi"})

	// Creating: only for organisers one manages.
	_, err := otherCoord.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: s.draft(programmeOrganiser("lape"))})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = otherRegion.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: s.draft(programmeOrganiser("lape"))})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = leaderB.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: s.draft(networkOrganiser(networkA, "lape"))})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = contactB.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: s.draft(associationOrganiser(assocA))})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = partnerHere.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: s.draft(programmeOrganiser("lape"))})
	wantCode(t, err, connect.CodePermissionDenied)
	netEvent := s.create(leaderA, s.draft(networkOrganiser(networkA, "lape"), public))
	assocEvent := s.create(contactA, s.draft(associationOrganiser(assocA)))

	// Drafts: the organiser side only (the network's coordinator too).
	for name, c := range map[string]interface {
		GetEvent(ctxT, *eventsv1.GetEventRequest) (*eventsv1.GetEventResponse, error)
	}{"other leader": leaderB, "contact": contactA, "partner": partnerHere, "other coordinator": otherCoord} {
		_, err := c.GetEvent(ctx, &eventsv1.GetEventRequest{Id: netEvent.GetId()})
		t.Run("draft/"+name, func(t *testing.T) { wantCode(t, err, connect.CodePermissionDenied, "draft") })
	}
	if _, err := lapeCoord.GetEvent(ctx, &eventsv1.GetEventRequest{Id: netEvent.GetId()}); err != nil {
		t.Fatalf("the network's coordinator reads its draft: %v", err)
	}
	_, err = contactB.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: assocEvent.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	if _, err := contactA.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: assocEvent.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := leaderA.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: netEvent.GetId()}); err != nil {
		t.Fatal(err)
	}
	// Published: every member reads; partners within their scope only.
	for name, c := range map[string]interface {
		GetEvent(ctxT, *eventsv1.GetEventRequest) (*eventsv1.GetEventResponse, error)
	}{"other leader": leaderB, "contact": contactB, "partner": partnerHere, "other coordinator": otherCoord} {
		_, err := c.GetEvent(ctx, &eventsv1.GetEventRequest{Id: netEvent.GetId()})
		t.Run("published/"+name, func(t *testing.T) {
			if err != nil {
				t.Fatal(err)
			}
		})
	}
	_, err = partnerFar.GetEvent(ctx, &eventsv1.GetEventRequest{Id: netEvent.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	// An association's event without a programme is outside a partner scoped to one.
	_, err = partnerHere.GetEvent(ctx, &eventsv1.GetEventRequest{Id: assocEvent.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	far, err := partnerFar.ListEvents(ctx, &eventsv1.ListEventsRequest{})
	if err != nil || len(far.GetEvents()) != 0 {
		t.Fatalf("far partner lists %v %v", far, err)
	}
	// Managing published events.
	upd := proto.CloneOf(netEvent)
	upd.Capacity = 30
	_, err = leaderB.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: upd, UpdateMask: fieldMask("capacity")})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = otherCoord.CancelEvent(ctx, &eventsv1.CancelEventRequest{Id: netEvent.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = contactB.CancelEvent(ctx, &eventsv1.CancelEventRequest{Id: assocEvent.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)

	// Registering others: the contact for a person of theirs; not for another association.
	personA := ids.New()
	_, err = contactB.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: netEvent.GetId(), PersonId: personA, DisplayName: "Aino", AssociationId: assocA})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = contactB.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: netEvent.GetId(), PersonId: personA, DisplayName: "Aino"})
	wantCode(t, err, connect.CodePermissionDenied)
	byContact, err := contactA.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: netEvent.GetId(), PersonId: personA, DisplayName: "Aino", AssociationId: assocA})
	if err != nil || byContact.GetRegistration().GetAssociationId() != assocA {
		t.Fatalf("contact registers: %v %v", byContact, err)
	}
	// Partners are no persons; the public cannot register to a non-public event.
	_, err = partnerHere.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: netEvent.GetId()})
	wantCode(t, err, connect.CodeInvalidArgument, "person_id")
	_, err = s.anonymous().RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: assocEvent.GetId(), DisplayName: "X", Email: "x@example.org"})
	wantCode(t, err, connect.CodeUnauthenticated, "not open to the public")
	_, err = contactB.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: assocEvent.GetId(), DisplayName: "X", Email: "x@example.org"})
	wantCode(t, err, connect.CodePermissionDenied, "not open to the public")
	// The public may not register to a draft even when it is for the public.
	publicDraft := s.create(s.admin, s.draft(programmeOrganiser("lape"), public))
	_, err = s.anonymous().RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: publicDraft.GetId(), DisplayName: "X", Email: "x@example.org"})
	wantCode(t, err, connect.CodeUnauthenticated)

	// Registrations are the organiser side's: the list, the export.
	me, myID := s.person()
	mine, err := me.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: netEvent.GetId(), DisplayName: "Minä"})
	if err != nil || mine.GetRegistration().GetPersonId() != myID {
		t.Fatalf("self registration: %v %v", mine, err)
	}
	for name, c := range map[string]eventsClient{"registrant": me, "other leader": leaderB, "partner": partnerHere, "contact": contactA, "other coordinator": otherCoord} {
		_, err1 := c.ListRegistrations(ctx, &eventsv1.ListRegistrationsRequest{EventId: netEvent.GetId()})
		_, err2 := c.ExportRegistrations(ctx, &eventsv1.ExportRegistrationsRequest{EventId: netEvent.GetId()})
		t.Run("registrations/"+name, func(t *testing.T) {
			wantCode(t, err1, connect.CodePermissionDenied)
			wantCode(t, err2, connect.CodePermissionDenied)
		})
	}
	for _, c := range []eventsClient{leaderA, lapeCoord, s.admin} {
		res, err := c.ListRegistrations(ctx, &eventsv1.ListRegistrationsRequest{EventId: netEvent.GetId()})
		if err != nil || len(res.GetRegistrations()) != 2 {
			t.Fatalf("organiser lists: %v %v", res, err)
		}
	}
	// A registration: its person, the contact who made it, the organisers.
	if _, err := me.GetRegistration(ctx, &eventsv1.GetRegistrationRequest{Id: mine.GetRegistration().GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err = leaderB.GetRegistration(ctx, &eventsv1.GetRegistrationRequest{Id: mine.GetRegistration().GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	if _, err := contactA.GetRegistration(ctx, &eventsv1.GetRegistrationRequest{Id: byContact.GetRegistration().GetId()}); err != nil {
		t.Fatal(err)
	}
	// Cancelling: not someone else's; the person themself, or the contact.
	other, _ := s.person()
	_, err = other.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: mine.GetRegistration().GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = contactB.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: byContact.GetRegistration().GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = s.anonymous().CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: mine.GetRegistration().GetId(), CancellationToken: "vkr_guess"})
	wantCode(t, err, connect.CodePermissionDenied)
	if _, err := me.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: mine.GetRegistration().GetId(), Etag: mine.GetRegistration().GetEtag()}); err != nil {
		t.Fatal(err)
	}
	if _, err := contactA.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: byContact.GetRegistration().GetId()}); err != nil {
		t.Fatal(err)
	}
	// My registrations: mine only, newest first; credentials without a person have none.
	second := s.published(programmeOrganiser("lape"))
	if _, err := me.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: second.GetId(), DisplayName: "Minä"}); err != nil {
		t.Fatal(err)
	}
	my, err := me.ListMyRegistrations(ctx, &eventsv1.ListMyRegistrationsRequest{})
	if err != nil || len(my.GetRegistrations()) != 2 || my.GetRegistrations()[0].GetEventId() != second.GetId() ||
		my.GetRegistrations()[1].GetState() != eventsv1.Registration_STATE_CANCELLED {
		t.Fatalf("my registrations: %v %v", my, err)
	}
	_, err = leaderA.ListMyRegistrations(ctx, &eventsv1.ListMyRegistrationsRequest{})
	wantCode(t, err, connect.CodeFailedPrecondition, "not a person")
}
