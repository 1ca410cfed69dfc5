package nominations_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	"github.com/verkosto/verkosto/gen/verkosto/nominations/v1/nominationsv1connect"
	"github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1/workinggroupsv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/networks"
	"github.com/verkosto/verkosto/services/nominations"
	"github.com/verkosto/verkosto/services/workinggroups"
)

const (
	region    = "pohjois-pohjanmaa"
	programme = "lape"
	subjects  = "verkosto.changes." + region + "." + programme + "."
	// perhekeskusverkosto is the outside body of most tests: the regional
	// family centre network.
	perhekeskusverkosto = "Alueellinen perhekeskusverkosto"
)

var ctx = context.Background()

// modules: the real networks service feeds the projection, the real working
// groups service consumes confirmed and ended nominations.
func modules() []app.Module {
	return []app.Module{networks.Module(), workinggroups.Module(), nominations.Module()}
}

type client = nominationsv1connect.NominationsServiceClient

// setup is one test's Verkosto with the three services and admin clients.
type setup struct {
	*testenv.Env
	t      *testing.T
	admin  client
	nets   networksv1connect.NetworksServiceClient
	groups workinggroupsv1connect.WorkingGroupsServiceClient
	// coordinator of region × programme.
	coordinator client
}

func newSetup(t *testing.T, opts ...testenv.Options) *setup {
	return newSetupWith(t, modules(), opts...)
}

func newSetupWith(t *testing.T, mods []app.Module, opts ...testenv.Options) *setup {
	t.Parallel()
	e := testenv.New(t, mods, opts...)
	s := &setup{Env: e, t: t}
	admin := e.Admin()
	s.admin = s.client(admin)
	s.nets = networksv1connect.NewNetworksServiceClient(e.HTTPClient(), e.URL, connect.WithInterceptors(auth.BearerToken(admin)))
	s.groups = workinggroupsv1connect.NewWorkingGroupsServiceClient(e.HTTPClient(), e.URL, connect.WithInterceptors(auth.BearerToken(admin)))
	s.coordinator = s.as(auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: programme})
	return s
}

func (s *setup) client(token string) client {
	return nominationsv1connect.NewNominationsServiceClient(s.HTTPClient(), s.URL, connect.WithInterceptors(auth.BearerToken(token)))
}

// as is a client of a credential with the given bindings and no person.
func (s *setup) as(bindings ...auth.Binding) client { return s.client(s.Token(bindings...)) }

// personal is a client of a credential of the person; its binding (an
// association contact of an unrelated association) grants nothing by itself.
func (s *setup) personal(personID string) client {
	return s.client(s.TokenFor(personID, auth.Binding{Role: auth.RoleAssociation, Association: ids.New()}))
}

// contact is a client of the contact of an association.
func (s *setup) contact(associationID string) client {
	return s.as(auth.Binding{Role: auth.RoleAssociation, Association: associationID})
}

// network is a network of the networks service with two active member
// associations, one outsider, and a leader (veturi) from the first member.
type network struct {
	net               *networksv1.Network
	member, member2   *networksv1.Association
	outsider          *networksv1.Association
	leaderPerson      *networksv1.Person
	leaderRecord      *networksv1.Leader
	leader            client
	memberships       map[string]*networksv1.Membership // association id -> active membership
	region, programme string
}

var seq atomic.Int64

// network creates a network of region × prog through the networks service
// and waits until the nominations projection has it.
func (s *setup) network(prog string) *network {
	s.t.Helper()
	n := s.networkUnsynced(prog)
	s.synced(n)
	return n
}

// synced waits until the projection has the network, its leader and its
// two active members.
func (s *setup) synced(n *network) {
	s.t.Helper()
	s.waitFor("the network's leader in the projection", `SELECT EXISTS (SELECT 1 FROM nominations.projected_leaders
		WHERE id = $1 AND version >= $2) AND EXISTS (SELECT 1 FROM nominations.projected_networks WHERE id = $3)
		AND (SELECT count(*) FROM nominations.active_memberships WHERE network_id = $3) = 2`,
		n.leaderRecord.GetId(), etagVersion(n.leaderRecord.GetEtag()), n.net.GetId())
}

// networkUnsynced creates the network without waiting for the projection.
func (s *setup) networkUnsynced(prog string) *network {
	s.t.Helper()
	res, err := s.nets.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{
		Region: region, Programme: prog, Name: &commonv1.LocalizedText{Fi: "Verkosto " + prog},
	}})
	if err != nil {
		s.t.Fatalf("create network: %v", err)
	}
	n := &network{net: res.GetNetwork(), memberships: map[string]*networksv1.Membership{}, region: region, programme: prog}
	n.member = s.association("Jäsenyhdistys " + prog)
	n.member2 = s.association("Toinen jäsen " + prog)
	n.outsider = s.association("Ulkopuolinen " + prog)
	for _, a := range []*networksv1.Association{n.member, n.member2} {
		n.memberships[a.GetId()] = s.join(n.net.GetId(), a.GetId())
	}
	n.leaderPerson = s.person("Veturi", n.member.GetId())
	l, err := s.nets.AppointLeader(ctx, &networksv1.AppointLeaderRequest{NetworkId: n.net.GetId(),
		PersonId: n.leaderPerson.GetId(), AssociationId: n.member.GetId()})
	if err != nil {
		s.t.Fatalf("appoint leader: %v", err)
	}
	n.leaderRecord = l.GetLeader()
	n.leader = s.client(s.TokenFor(n.leaderPerson.GetId(), auth.Binding{Role: auth.RoleLeader, Network: n.net.GetId()}))
	return n
}

func etagVersion(e string) int64 {
	var v int64
	fmt.Sscan(e, &v) //nolint:errcheck
	return v
}

func (s *setup) association(name string) *networksv1.Association {
	s.t.Helper()
	res, err := s.nets.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{
		Name: &commonv1.LocalizedText{Fi: name}, Municipalities: []string{"Oulu"}, ContactEmail: "info@example.org",
	}})
	if err != nil {
		s.t.Fatalf("create association: %v", err)
	}
	return res.GetAssociation()
}

// join makes association an active member of network.
func (s *setup) join(networkID, associationID string) *networksv1.Membership {
	s.t.Helper()
	m, err := s.nets.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: networkID, AssociationId: associationID})
	if err != nil {
		s.t.Fatalf("apply: %v", err)
	}
	a, err := s.nets.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: m.GetMembership().GetId()})
	if err != nil {
		s.t.Fatalf("approve: %v", err)
	}
	return a.GetMembership()
}

// person registers a person acting for the associations (with contact
// details, which must never reach a change of this service).
func (s *setup) person(given string, associationIDs ...string) *networksv1.Person {
	s.t.Helper()
	family := fmt.Sprintf("Testinen%d", seq.Add(1))
	res, err := s.nets.CreatePerson(ctx, &networksv1.CreatePersonRequest{Person: &networksv1.Person{
		GivenName: given, FamilyName: family, Email: strings.ToLower(given+"."+family) + "@example.org",
		Phone: "+358 40 123 4567", AssociationIds: associationIDs,
	}})
	if err != nil {
		s.t.Fatalf("create person: %v", err)
	}
	return res.GetPerson()
}

// persons registers n persons of the association and waits for them in the projection.
func (s *setup) persons(n int, associationID string) []*networksv1.Person {
	s.t.Helper()
	var out []*networksv1.Person
	var list []string
	for i := range n {
		p := s.person(fmt.Sprintf("Ehdokas%d", i+1), associationID)
		out = append(out, p)
		list = append(list, p.GetId())
	}
	s.waitFor("persons in the projection", `SELECT count(*) = cardinality($1::uuid[]) FROM nominations.projected_persons
		WHERE id = ANY($1::uuid[])`, list)
	return out
}

// waitFor polls a boolean query against the test database until it holds.
func (s *setup) waitFor(what, query string, args ...any) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var ok bool
		if err := s.Pool.QueryRow(ctx, query, args...).Scan(&ok); err != nil {
			s.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newRequest is a valid request of the outside body to network n, with the
// deadline in a week and a two-year term starting in two weeks.
func (s *setup) newRequest(n *network, seats int32, deputies bool) *nominationsv1.RepresentationRequest {
	now := s.Clock.Now()
	return &nominationsv1.RepresentationRequest{
		BodyName: &commonv1.LocalizedText{Fi: perhekeskusverkosto, En: "Regional family centre network"},
		Region:   region, Programme: programme, NetworkId: n.net.GetId(), Seats: seats, WithDeputies: deputies,
		Description:            &commonv1.LocalizedText{Fi: "Edustajat perhekeskustoiminnan alueelliseen verkostoon, kokemus lapsiperheiden tuesta."},
		NominationDeadlineTime: timestamppb.New(now.Add(7 * 24 * time.Hour)),
		TermStartTime:          timestamppb.New(now.Add(14 * 24 * time.Hour)),
		TermEndTime:            timestamppb.New(now.Add(14*24*time.Hour + 2*365*24*time.Hour)),
	}
}

// request creates a request as the coordinator.
func (s *setup) request(n *network, seats int32, deputies bool) *nominationsv1.RepresentationRequest {
	s.t.Helper()
	res, err := s.coordinator.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{
		RepresentationRequest: s.newRequest(n, seats, deputies)})
	if err != nil {
		s.t.Fatalf("create representation request: %v", err)
	}
	return res.GetRepresentationRequest()
}

// nominate proposes person (of association) as n's leader.
func (s *setup) nominate(n *network, r *nominationsv1.RepresentationRequest, personID, associationID string, seat int32, deputy bool) *nominationsv1.Nomination {
	s.t.Helper()
	res, err := n.leader.CreateNomination(ctx, &nominationsv1.CreateNominationRequest{Nomination: &nominationsv1.Nomination{
		RepresentationRequestId: r.GetId(), PersonId: personID, AssociationId: associationID, Seat: seat, Deputy: deputy,
		Note: "Pitkä kokemus perhekeskustyöstä",
	}})
	if err != nil {
		s.t.Fatalf("nominate: %v", err)
	}
	return res.GetNomination()
}

// accepted nominates and accepts as the association's contact.
func (s *setup) accepted(n *network, r *nominationsv1.RepresentationRequest, personID, associationID string, seat int32, deputy bool) *nominationsv1.Nomination {
	s.t.Helper()
	x := s.nominate(n, r, personID, associationID, seat, deputy)
	res, err := s.contact(associationID).AcceptNomination(ctx, &nominationsv1.AcceptNominationRequest{Id: x.GetId()})
	if err != nil {
		s.t.Fatalf("accept: %v", err)
	}
	return res.GetNomination()
}

// confirmed nominates, accepts and confirms.
func (s *setup) confirmed(n *network, r *nominationsv1.RepresentationRequest, personID, associationID string, seat int32, deputy bool) *nominationsv1.Nomination {
	s.t.Helper()
	x := s.accepted(n, r, personID, associationID, seat, deputy)
	res, err := s.coordinator.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: x.GetId()})
	if err != nil {
		s.t.Fatalf("confirm: %v", err)
	}
	return res.GetNomination()
}

func (s *setup) get(id string) *nominationsv1.GetRepresentationRequestResponse {
	s.t.Helper()
	res, err := s.admin.GetRepresentationRequest(ctx, &nominationsv1.GetRepresentationRequestRequest{Id: id})
	if err != nil {
		s.t.Fatalf("get representation request: %v", err)
	}
	return res
}

func (s *setup) nomination(id string) *nominationsv1.Nomination {
	s.t.Helper()
	res, err := s.admin.GetNomination(ctx, &nominationsv1.GetNominationRequest{Id: id})
	if err != nil {
		s.t.Fatalf("get nomination: %v", err)
	}
	return res.GetNomination()
}

// wantCode fails unless err is a Connect error with code whose message
// contains every fragment.
func wantCode(t *testing.T, err error, code connect.Code, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v, got success", code)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("want a Connect error %v, got %v", code, err)
	}
	if ce.Code() != code {
		t.Fatalf("want code %v, got %v: %v", code, ce.Code(), ce.Message())
	}
	for _, f := range fragments {
		if !strings.Contains(ce.Message(), f) {
			t.Fatalf("error %q does not mention %q", ce.Message(), f)
		}
	}
}

// reasonOf is the ErrorInfo reason of a Connect error.
func reasonOf(err error) string {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		return ""
	}
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if info, ok := v.(*errdetails.ErrorInfo); ok {
				return info.GetReason()
			}
		}
	}
	return ""
}

// wantReason fails unless err is FAILED_PRECONDITION with reason.
func wantReason(t *testing.T, err error, reason string, fragments ...string) {
	t.Helper()
	wantCode(t, err, connect.CodeFailedPrecondition, fragments...)
	if got := reasonOf(err); got != reason {
		t.Fatalf("want reason %s, got %s (%v)", reason, got, err)
	}
}

// wantFields fails unless err is INVALID_ARGUMENT with a violation of every field.
func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	wantCode(t, err, connect.CodeInvalidArgument)
	var ce *connect.Error
	errors.As(err, &ce)
	got := map[string]bool{}
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if br, ok := v.(*errdetails.BadRequest); ok {
				for _, f := range br.GetFieldViolations() {
					got[f.GetField()] = true
				}
			}
		}
	}
	for _, f := range fields {
		if !got[f] {
			t.Errorf("no violation of %s in %v (%s)", f, got, ce.Message())
		}
	}
}

func countSubject(list []testenv.Received, subject string) int {
	n := 0
	for _, r := range list {
		if r.Subject == subject {
			n++
		}
	}
	return n
}

// payloadOf is the Nomination payload of a change.
func payloadOf(t *testing.T, r testenv.Received) *nominationsv1.Nomination {
	t.Helper()
	var n nominationsv1.Nomination
	if err := r.Change.GetPayload().UnmarshalTo(&n); err != nil {
		t.Fatalf("payload of %s: %v", r.Subject, err)
	}
	return &n
}

// nominationChange finds the change on subject about nomination id.
func nominationChange(t *testing.T, c *testenv.Changes, subject, id string) testenv.Received {
	t.Helper()
	var found testenv.Received
	c.Wait(func(list []testenv.Received) bool {
		for _, r := range list {
			if r.Subject == subject && r.Change.GetAggregateId() == id {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// partnerOf is a partner binding of one region.
func partnerOf(region string) auth.Binding {
	return auth.Binding{Role: auth.RolePartner, Region: region}
}

func fieldMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func timestampAt(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
