package networks_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/networks"
)

const region = "pohjois-pohjanmaa"

var ctx = context.Background()

func modules() []app.Module { return []app.Module{networks.Module()} }

// setup is one test's Verkosto with the networks service and an admin client.
type setup struct {
	*testenv.Env
	t     *testing.T
	admin networksv1connect.NetworksServiceClient
}

func newSetup(t *testing.T, opts ...testenv.Options) *setup {
	t.Parallel()
	e := testenv.New(t, modules(), opts...)
	s := &setup{Env: e, t: t}
	s.admin = s.client(e.Admin())
	return s
}

// client is a Connect client with the given credential ("" for none).
func (s *setup) client(token string, opts ...connect.ClientOption) networksv1connect.NetworksServiceClient {
	if token != "" {
		opts = append(opts, connect.WithInterceptors(auth.BearerToken(token)))
	}
	return networksv1connect.NewNetworksServiceClient(s.HTTPClient(), s.URL, opts...)
}

// as is a client for a principal with the given bindings.
func (s *setup) as(bindings ...auth.Binding) networksv1connect.NetworksServiceClient {
	return s.client(s.Token(bindings...))
}

func (s *setup) network(programme string) *networksv1.Network {
	s.t.Helper()
	res, err := s.admin.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{
		Region: region, Programme: programme, Name: &commonv1.LocalizedText{Fi: "Verkosto " + programme},
	}})
	if err != nil {
		s.t.Fatalf("create network: %v", err)
	}
	return res.GetNetwork()
}

func (s *setup) association(name string) *networksv1.Association {
	s.t.Helper()
	res, err := s.admin.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{
		Name: &commonv1.LocalizedText{Fi: name}, Municipalities: []string{"Oulu"}, ContactEmail: "info@example.org",
	}})
	if err != nil {
		s.t.Fatalf("create association: %v", err)
	}
	return res.GetAssociation()
}

func (s *setup) person(given string, associationIDs ...string) *networksv1.Person {
	s.t.Helper()
	res, err := s.admin.CreatePerson(ctx, &networksv1.CreatePersonRequest{Person: &networksv1.Person{
		GivenName: given, FamilyName: "Virtanen", Email: strings.ToLower(given) + "@example.org", AssociationIds: associationIDs,
	}})
	if err != nil {
		s.t.Fatalf("create person: %v", err)
	}
	return res.GetPerson()
}

// member makes association an active member of network.
func (s *setup) member(networkID, associationID string) *networksv1.Membership {
	s.t.Helper()
	m, err := s.admin.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: networkID, AssociationId: associationID})
	if err != nil {
		s.t.Fatalf("apply: %v", err)
	}
	a, err := s.admin.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: m.GetMembership().GetId()})
	if err != nil {
		s.t.Fatalf("approve: %v", err)
	}
	return a.GetMembership()
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

type ctxT = context.Context

type testenvReceived = testenv.Received

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
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

func fieldMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
