package networks_test

import (
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/services/networks"
)

// side is one half of the world: a network in a region × programme with a
// member association, a person of it who leads the network, and a pending
// application of a second association.
type side struct {
	region, programme string
	network           *networksv1.Network
	assoc, applicant  *networksv1.Association
	person            *networksv1.Person
	membership        *networksv1.Membership // active
	pending           *networksv1.Membership
	leader            *networksv1.Leader
}

func (s *setup) side(region, programme string) *side {
	s.t.Helper()
	x := &side{region: region, programme: programme}
	res, err := s.admin.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: region, Programme: programme}})
	if err != nil {
		s.t.Fatal(err)
	}
	x.network = res.GetNetwork()
	x.assoc = s.association("Jäsen " + region)
	x.applicant = s.association("Hakija " + region)
	x.membership = s.member(x.network.GetId(), x.assoc.GetId())
	m, err := s.admin.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: x.network.GetId(), AssociationId: x.applicant.GetId()})
	if err != nil {
		s.t.Fatal(err)
	}
	x.pending = m.GetMembership()
	x.person = s.person("Veturi"+region, x.assoc.GetId())
	l, err := s.admin.AppointLeader(ctx, &networksv1.AppointLeaderRequest{NetworkId: x.network.GetId(), PersonId: x.person.GetId(), AssociationId: x.assoc.GetId()})
	if err != nil {
		s.t.Fatal(err)
	}
	x.leader = l.GetLeader()
	return x
}

// principals bound to a side: the credential's own resources are that side's.
func (s *setup) principals(x *side) map[auth.Role]string {
	return map[auth.Role]string{
		auth.RoleAdmin:       s.Admin(),
		auth.RoleCoordinator: s.Token(auth.Binding{Role: auth.RoleCoordinator, Region: x.region, Programme: x.programme}),
		auth.RoleLeader:      s.TokenFor(x.person.GetId(), auth.Binding{Role: auth.RoleLeader, Network: x.network.GetId()}),
		auth.RoleAssociation: s.Token(auth.Binding{Role: auth.RoleAssociation, Association: x.assoc.GetId()}),
		auth.RolePartner:     s.Token(auth.Binding{Role: auth.RolePartner, Region: x.region, Programme: x.programme}),
	}
}

// rpc is one RPC of the matrix: a request about a side's resources, and the
// roles that reach the resources of their own side.
type rpc struct {
	procedure string
	request   func(x *side) proto.Message
	// ownRoles reach their own side's resources; unlisted roles are denied
	// there. nil: the policy's roles.
	ownRoles []auth.Role
	// global RPCs have no side: every role of the policy reaches them all.
	global bool
	// foreignRoles reach other sides' resources too (admins always do).
	foreignRoles []auth.Role
}

// taking part: people of the networks read every network and membership,
// a public register within Verkosto; partners read their scope only.
var takingPart = []auth.Role{auth.RoleCoordinator, auth.RoleLeader, auth.RoleAssociation}

// The authorization matrix of the networks service: every RPC × every role ×
// own or foreign resource (the same request with the ids of a network of
// another region, and another programme). Only PERMISSION_DENIED or its
// absence is asserted: an allowed call may still fail on state.
func TestAuthorizationMatrix(t *testing.T) {
	s := newSetup(t)
	own := s.side("pohjois-pohjanmaa", "lape")
	foreigns := []*side{s.side("lappi", "lape"), s.side("pohjois-pohjanmaa", "ikaihmiset")}
	mask := func(p ...string) *fieldMaskT { return fieldMask(p...) }
	rpcs := []rpc{
		{procedure: networksv1connect.NetworksServiceListRegionsProcedure, request: func(*side) proto.Message { return &networksv1.ListRegionsRequest{} }, global: true},
		{procedure: networksv1connect.NetworksServiceListProgrammesProcedure, request: func(*side) proto.Message { return &networksv1.ListProgrammesRequest{} }, global: true},
		{procedure: networksv1connect.NetworksServiceCreateProgrammeProcedure, global: true, request: func(*side) proto.Message {
			return &networksv1.CreateProgrammeRequest{Programme: &networksv1.Programme{Slug: "uusi", Name: &commonv1.LocalizedText{Fi: "Uusi"}}}
		}},
		{procedure: networksv1connect.NetworksServiceCreateAssociationProcedure, global: true, request: func(*side) proto.Message {
			return &networksv1.CreateAssociationRequest{Association: &networksv1.Association{Name: &commonv1.LocalizedText{Fi: "Uusi ry"}}}
		}},
		{procedure: networksv1connect.NetworksServiceGetAssociationProcedure, global: true, request: func(x *side) proto.Message {
			return &networksv1.GetAssociationRequest{Id: x.assoc.GetId()}
		}},
		{procedure: networksv1connect.NetworksServiceListAssociationsProcedure, global: true, request: func(*side) proto.Message { return &networksv1.ListAssociationsRequest{} }},
		{procedure: networksv1connect.NetworksServiceUpdateAssociationProcedure, request: func(x *side) proto.Message {
			return &networksv1.UpdateAssociationRequest{Association: &networksv1.Association{Id: x.assoc.GetId(), Website: "https://x.example.org"}, UpdateMask: mask("website")}
		}},
		{procedure: networksv1connect.NetworksServiceCreatePersonProcedure, request: func(x *side) proto.Message {
			return &networksv1.CreatePersonRequest{Person: &networksv1.Person{GivenName: "Uusi", FamilyName: "Henkilö", AssociationIds: []string{x.assoc.GetId()}}}
		}, ownRoles: []auth.Role{auth.RoleAdmin, auth.RoleCoordinator, auth.RoleLeader, auth.RoleAssociation}},
		{procedure: networksv1connect.NetworksServiceGetPersonProcedure, request: func(x *side) proto.Message { return &networksv1.GetPersonRequest{Id: x.person.GetId()} }},
		{procedure: networksv1connect.NetworksServiceUpdatePersonProcedure, request: func(x *side) proto.Message {
			return &networksv1.UpdatePersonRequest{Person: &networksv1.Person{Id: x.person.GetId(), Phone: "+358 40 111 2222"}, UpdateMask: mask("phone")}
		}, ownRoles: []auth.Role{auth.RoleAdmin, auth.RoleLeader, auth.RoleAssociation}},
		{procedure: networksv1connect.NetworksServiceCreateNetworkProcedure, request: func(x *side) proto.Message {
			return &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: x.region, Programme: x.programme}}
		}},
		{procedure: networksv1connect.NetworksServiceGetNetworkProcedure, request: func(x *side) proto.Message { return &networksv1.GetNetworkRequest{Id: x.network.GetId()} },
			foreignRoles: takingPart},
		{procedure: networksv1connect.NetworksServiceUpdateNetworkProcedure, request: func(x *side) proto.Message {
			return &networksv1.UpdateNetworkRequest{Network: &networksv1.Network{Id: x.network.GetId(), MaxLeaders: 3}, UpdateMask: mask("max_leaders")}
		}},
		{procedure: networksv1connect.NetworksServiceApplyMembershipProcedure, request: func(x *side) proto.Message {
			return &networksv1.ApplyMembershipRequest{NetworkId: x.network.GetId(), AssociationId: x.assoc.GetId()}
		}},
		{procedure: networksv1connect.NetworksServiceApproveMembershipProcedure, request: func(x *side) proto.Message {
			return &networksv1.ApproveMembershipRequest{Id: x.pending.GetId()}
		}},
		{procedure: networksv1connect.NetworksServiceRejectMembershipProcedure, request: func(x *side) proto.Message {
			return &networksv1.RejectMembershipRequest{Id: x.pending.GetId()}
		}},
		{procedure: networksv1connect.NetworksServiceLeaveMembershipProcedure, request: func(x *side) proto.Message {
			return &networksv1.LeaveMembershipRequest{Id: x.membership.GetId()}
		}},
		{procedure: networksv1connect.NetworksServiceRemoveMembershipProcedure, request: func(x *side) proto.Message {
			return &networksv1.RemoveMembershipRequest{Id: x.membership.GetId()}
		}},
		{procedure: networksv1connect.NetworksServiceGetMembershipProcedure, request: func(x *side) proto.Message {
			return &networksv1.GetMembershipRequest{Id: x.membership.GetId()}
		}, foreignRoles: takingPart},
		{procedure: networksv1connect.NetworksServiceAppointLeaderProcedure, request: func(x *side) proto.Message {
			return &networksv1.AppointLeaderRequest{NetworkId: x.network.GetId(), PersonId: x.person.GetId(), AssociationId: x.assoc.GetId()}
		}},
		{procedure: networksv1connect.NetworksServiceEndLeaderTermProcedure, request: func(x *side) proto.Message {
			return &networksv1.EndLeaderTermRequest{Id: x.leader.GetId()}
		}, ownRoles: []auth.Role{auth.RoleAdmin, auth.RoleCoordinator, auth.RoleLeader}},
		// The leader's credential is the side's person's own.
		{procedure: networksv1connect.NetworksServiceExportPersonDataProcedure, request: func(x *side) proto.Message {
			return &networksv1.ExportPersonDataRequest{PersonId: x.person.GetId()}
		}, ownRoles: []auth.Role{auth.RoleAdmin, auth.RoleLeader}},
		// Last: it erases the sides' persons.
		{procedure: networksv1connect.NetworksServiceErasePersonProcedure, request: func(x *side) proto.Message {
			return &networksv1.ErasePersonRequest{PersonId: x.person.GetId()}
		}},
	}
	// Lists filter by scope instead of refusing: they are covered by
	// TestMembershipReads and TestPersonsArePersonalData.
	listed := map[string]bool{
		networksv1connect.NetworksServiceListPersonsProcedure:     true,
		networksv1connect.NetworksServiceListNetworksProcedure:    true,
		networksv1connect.NetworksServiceListMembershipsProcedure: true,
		networksv1connect.NetworksServiceListLeadersProcedure:     true,
	}
	covered := map[string]bool{}
	for _, r := range rpcs {
		covered[r.procedure] = true
	}
	for proc := range networks.Policies {
		if !covered[proc] && !listed[proc] {
			t.Errorf("%s is missing from the matrix", proc)
		}
	}

	tokens := s.principals(own)
	denied := func(err error) bool { return connect.CodeOf(err) == connect.CodePermissionDenied }
	checked := 0
	for _, r := range rpcs {
		pol := networks.Policies[r.procedure]
		ownRoles := r.ownRoles
		if ownRoles == nil {
			ownRoles = pol.Roles
		}
		for _, role := range auth.Roles {
			inPolicy := contains(pol.Roles, role)
			// Foreign resources first: an own call may change state.
			for _, f := range foreigns {
				if r.global {
					break
				}
				err := invoke(s, r.procedure, tokens[role], r.request(f))
				if wantDenied := role != auth.RoleAdmin && !contains(r.foreignRoles, role); denied(err) != wantDenied {
					t.Errorf("%s as %s on %s × %s: denied=%v (%v), want denied=%v", r.procedure, role, f.region, f.programme, denied(err), err, wantDenied)
				}
				checked++
			}
			err := invoke(s, r.procedure, tokens[role], r.request(own))
			wantDenied := !inPolicy || (!r.global && !contains(ownRoles, role))
			if denied(err) != wantDenied {
				t.Errorf("%s as %s on its own resource: denied=%v (%v), want denied=%v", r.procedure, role, denied(err), err, wantDenied)
			}
			checked++
		}
	}
	t.Logf("%d calls checked", checked)
}

type fieldMaskT = fieldmaskpb.FieldMask

func contains(list []auth.Role, r auth.Role) bool {
	for _, x := range list {
		if x == r {
			return true
		}
	}
	return false
}

// invoke calls a procedure with a request of any type through one generic
// client: a codec that sends the request's bytes and keeps the answer's.
func invoke(s *setup, procedure, token string, req proto.Message) error {
	b, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	c := connect.NewClient[rawMessage, rawMessage](s.HTTPClient(), s.URL+procedure,
		connect.WithCodec(rawCodec{}), connect.WithInterceptors(auth.BearerToken(token)))
	_, err = c.CallUnary(ctx, connect.NewRequest(&rawMessage{b}))
	return err
}

type rawMessage struct{ b []byte }

// rawCodec is the binary protobuf codec for already encoded messages.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(m any) ([]byte, error) { return m.(*rawMessage).b, nil }

func (rawCodec) Unmarshal(b []byte, m any) error {
	m.(*rawMessage).b = append([]byte(nil), b...)
	return nil
}
