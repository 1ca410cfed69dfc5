package nominations_test

import (
	"testing"
	"time"

	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/nominations"
)

const day = 24 * time.Hour

// termJob is the term job on the test's database and clock.
func (s *setup) termJob(settings map[string]string) *nominations.TermJob {
	s.t.Helper()
	job, err := nominations.NewTermJob(app.Deps{Pool: s.Pool, Now: s.Clock.Now, Settings: settings})
	if err != nil {
		s.t.Fatal(err)
	}
	return job
}

func (s *setup) runJob(job *nominations.TermJob, want nominations.TermJobReport) {
	s.t.Helper()
	got, err := job.RunOnce(ctx)
	if err != nil {
		s.t.Fatalf("term job: %v", err)
	}
	if got != want {
		s.t.Fatalf("term job did %+v, want %+v", got, want)
	}
}

// The term job with the injectable clock: deadlines close requests (also
// on read), the term_ending notice goes once, the notice time before the
// term ends (a setting), and terms end at their end.
func TestTermJob(t *testing.T) {
	settings := map[string]string{nominations.SettingTermNotice: "480h"} // 20 days
	s := newSetup(t, testenv.Options{Settings: settings})
	changes := s.WatchChanges()
	job := s.termJob(settings)
	n := s.network(programme)
	people := s.persons(3, n.member.GetId())
	// Deadline in a week; a 60-day term from day 14 to day 74.
	shortTerm := func(seats int32) *nominationsv1.RepresentationRequest {
		x := s.newRequest(n, seats, false)
		x.TermEndTime = timestampAt(x.GetTermStartTime().AsTime().Add(60 * day))
		res, err := s.coordinator.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{RepresentationRequest: x})
		if err != nil {
			t.Fatal(err)
		}
		return res.GetRepresentationRequest()
	}
	a := shortTerm(1)
	held := s.confirmed(n, a, people[0].GetId(), n.member.GetId(), 1, false)
	b := shortTerm(2)
	waiting := s.accepted(n, b, people[1].GetId(), n.member.GetId(), 0, false)
	late := s.nominate(n, b, people[2].GetId(), n.member.GetId(), 0, false)
	c := shortTerm(1)
	s.runJob(job, nominations.TermJobReport{})

	// Day 8: the deadline has passed. A read closes c; the job closes b.
	s.Clock.Advance(8 * day)
	view := s.get(c.GetId())
	if rr := view.GetRepresentationRequest(); rr.GetState() != nominationsv1.RepresentationRequest_STATE_CLOSED ||
		!rr.GetStateTime().AsTime().Equal(c.GetNominationDeadlineTime().AsTime()) {
		t.Fatalf("request past its deadline, read: %v", rr)
	}
	if h := view.GetHistory()[len(view.GetHistory())-1]; h.GetChange() != "closed" || h.GetActor().GetId() != "system" {
		t.Fatalf("closing in the history: %v", h)
	}
	s.runJob(job, nominations.TermJobReport{Closed: 1})
	if got := s.get(b.GetId()).GetRepresentationRequest(); got.GetState() != nominationsv1.RepresentationRequest_STATE_CLOSED {
		t.Fatalf("request b after the job: %v", got)
	}
	changes.Wait(func(l []testenv.Received) bool { return countSubject(l, subjects+"representation_request.closed") == 2 })
	// A closed request takes no new nominations, but those made in time are
	// still confirmed.
	wantReason(t, tryNominate(n.leader, b, s.persons(1, n.member.GetId())[0].GetId(), n.member.GetId()), "INVALID_STATE", "it is CLOSED")
	res, err := s.coordinator.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: waiting.GetId()})
	if err != nil {
		t.Fatalf("confirming on a closed request: %v", err)
	}
	if res.GetRepresentationRequest().GetState() != nominationsv1.RepresentationRequest_STATE_CLOSED ||
		!res.GetNomination().GetTermStartTime().AsTime().Equal(b.GetTermStartTime().AsTime()) {
		t.Fatalf("after confirming on a closed request: %v", res)
	}

	// Day 50: 24 days before the end, outside the 20-day notice.
	s.Clock.Advance(42 * day)
	s.runJob(job, nominations.TermJobReport{})
	if s.get(a.GetId()).GetSeats()[0].GetNeedsNomination() {
		t.Fatal("a seat needs a nomination before the notice")
	}
	// Day 55: within the notice. Both holders are told, once.
	s.Clock.Advance(5 * day)
	s.runJob(job, nominations.TermJobReport{Notified: 2})
	s.runJob(job, nominations.TermJobReport{})
	notified := s.nomination(held.GetId())
	if notified.GetTermEndingNoticeTime() == nil || notified.GetState() != nominationsv1.Nomination_STATE_CONFIRMED {
		t.Fatalf("notified nomination: %v", notified)
	}
	view = s.get(a.GetId())
	if !view.GetSeats()[0].GetNeedsNomination() || view.GetRepresentationRequest().GetSeatsNeedingNomination() != 1 {
		t.Fatalf("a seat whose term ends within the notice: %v", view.GetSeats()[0])
	}
	ending := nominationChange(t, changes, subjects+"nomination.term_ending", held.GetId())
	if p := payloadOf(t, ending); p.GetTermEndingNoticeTime() == nil || p.GetSeat() != 1 {
		t.Fatalf("term_ending payload: %v", p)
	}

	// Day 75: the terms have ended.
	s.Clock.Advance(20 * day)
	s.runJob(job, nominations.TermJobReport{Ended: 2})
	s.runJob(job, nominations.TermJobReport{})
	ended := s.nomination(held.GetId())
	if ended.GetState() != nominationsv1.Nomination_STATE_ENDED || ended.GetEndReason() != nominationsv1.Nomination_END_REASON_TERM_ENDED ||
		!ended.GetEndTime().AsTime().Equal(a.GetTermEndTime().AsTime()) {
		t.Fatalf("nomination after its term: %v", ended)
	}
	if e := payloadOf(t, nominationChange(t, changes, subjects+"nomination.ended", held.GetId())); e.GetEndReason() != nominationsv1.Nomination_END_REASON_TERM_ENDED {
		t.Fatalf("nomination.ended payload: %v", e)
	}
	nominationChange(t, changes, subjects+"nomination.ended", waiting.GetId())
	time.Sleep(200 * time.Millisecond) // a second notice would have arrived by now
	if got := countSubject(changes.All(), subjects+"nomination.term_ending"); got != 2 {
		t.Fatalf("%d term_ending changes, want 2 (one per nomination)", got)
	}
	// Nothing moves on a request whose term has ended.
	_, err = s.personal(people[2].GetId()).AcceptNomination(ctx, &nominationsv1.AcceptNominationRequest{Id: late.GetId()})
	wantReason(t, err, "TERM_ENDED")
	if got := s.get(a.GetId()).GetRepresentationRequest(); got.GetSeatsNeedingNomination() != 0 || got.GetFilledSeats() != 0 {
		t.Fatalf("request after its term: %v", got)
	}
}

func TestTermJobSettings(t *testing.T) {
	t.Parallel()
	for _, bad := range []map[string]string{
		{nominations.SettingTermNotice: "a month"},
		{nominations.SettingTermNotice: "-1h"},
		{nominations.SettingTermJobInterval: "0s"},
	} {
		if _, err := nominations.NewTermJob(app.Deps{Settings: bad}); err == nil {
			t.Errorf("settings %v accepted", bad)
		}
	}
	if _, err := nominations.NewTermJob(app.Deps{Settings: map[string]string{nominations.SettingTermJobInterval: "1h"}}); err != nil {
		t.Fatal(err)
	}
}
