package credentials_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	credentialsv1 "github.com/verkosto/verkosto/gen/verkosto/credentials/v1"
	"github.com/verkosto/verkosto/gen/verkosto/credentials/v1/credentialsv1connect"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/credentials"
	"github.com/verkosto/verkosto/services/networks"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

const region = "pohjois-pohjanmaa"

type setup struct {
	*testenv.Env
	t     *testing.T
	admin credentialsv1connect.CredentialsServiceClient
}

func newSetup(t *testing.T) *setup {
	t.Parallel()
	e := testenv.New(t, []app.Module{networks.Module(), credentials.Module()})
	s := &setup{Env: e, t: t}
	s.admin = s.creds(e.Admin())
	return s
}

func (s *setup) creds(token string) credentialsv1connect.CredentialsServiceClient {
	var opts []connect.ClientOption
	if token != "" {
		opts = append(opts, connect.WithInterceptors(auth.BearerToken(token)))
	}
	return credentialsv1connect.NewCredentialsServiceClient(s.HTTPClient(), s.URL, opts...)
}

func (s *setup) networks(token string) networksv1connect.NetworksServiceClient {
	return networksv1connect.NewNetworksServiceClient(s.HTTPClient(), s.URL, connect.WithInterceptors(auth.BearerToken(token)))
}

func (s *setup) mint(req *credentialsv1.CreateCredentialRequest) *credentialsv1.CreateCredentialResponse {
	s.t.Helper()
	res, err := s.admin.CreateCredential(ctx, req)
	if err != nil {
		s.t.Fatalf("create credential: %v", err)
	}
	return res
}

func coordinator() *credentialsv1.CreateCredentialRequest {
	return &credentialsv1.CreateCredentialRequest{
		Name: "LAPE coordinator, Oulu",
		Kind: credentialsv1.Credential_KIND_PERSONAL,
		Bindings: []*credentialsv1.Binding{{
			Role: credentialsv1.Binding_ROLE_COORDINATOR, Region: region, Programme: "lape",
		}},
		Expiration: &credentialsv1.CreateCredentialRequest_Ttl{Ttl: durationpb.New(720 * time.Hour)},
	}
}

func wantCode(t *testing.T, err error, code connect.Code, what string) {
	t.Helper()
	if connect.CodeOf(err) != code {
		t.Fatalf("%s: want %v, got %v", what, code, err)
	}
}

// fields lists the fields of an INVALID_ARGUMENT error's BadRequest.
func fields(t *testing.T, err error) []string {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument {
		t.Fatalf("want invalid_argument, got %v", err)
	}
	var out []string
	for _, d := range ce.Details() {
		m, err := d.Value()
		if err != nil {
			continue
		}
		if br, ok := m.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

// An admin mints a credential; its secret works on another service's RPCs,
// within its bindings.
func TestAdminMintsWorkingCredential(t *testing.T) {
	s := newSetup(t)
	res := s.mint(coordinator())
	c := res.GetCredential()
	if !strings.HasPrefix(res.GetSecret(), "vk_") || !ids.Valid(c.GetId()) {
		t.Fatalf("secret %q, id %q", res.GetSecret(), c.GetId())
	}
	if c.GetState() != credentialsv1.Credential_STATE_ACTIVE || c.GetKind() != credentialsv1.Credential_KIND_PERSONAL ||
		c.GetName() != "LAPE coordinator, Oulu" || c.GetRevokeTime() != nil {
		t.Errorf("credential %v", c)
	}
	if got := c.GetExpireTime().AsTime().Sub(c.GetCreateTime().AsTime()); got != 720*time.Hour {
		t.Errorf("expires %v after creation, want 720h", got)
	}
	if !proto.Equal(c.GetBindings()[0], coordinator().GetBindings()[0]) || len(c.GetBindings()) != 1 {
		t.Errorf("bindings %v", c.GetBindings())
	}

	// The secret is the coordinator's: it creates the network of its region
	// × programme, not one of another region, and no programme.
	n := s.networks(res.GetSecret())
	if _, err := n.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{
		Region: region, Programme: "lape", Name: &commonv1.LocalizedText{Fi: "LAPE Pohjois-Pohjanmaa"},
	}}); err != nil {
		t.Fatalf("coordinator creates its network: %v", err)
	}
	_, err := n.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{
		Region: "lappi", Programme: "lape", Name: &commonv1.LocalizedText{Fi: "LAPE Lappi"},
	}})
	wantCode(t, err, connect.CodePermissionDenied, "coordinator in another region")
	_, err = n.CreateProgramme(ctx, &networksv1.CreateProgrammeRequest{})
	wantCode(t, err, connect.CodePermissionDenied, "coordinator creating a programme")

	// A partner credential with an absolute expiry reads its region.
	expires := s.Clock.Now().Add(24 * time.Hour).Truncate(time.Second)
	partner := s.mint(&credentialsv1.CreateCredentialRequest{
		Name: "Partner system", Kind: credentialsv1.Credential_KIND_PARTNER,
		Bindings:   []*credentialsv1.Binding{{Role: credentialsv1.Binding_ROLE_PARTNER, Region: region}},
		Expiration: &credentialsv1.CreateCredentialRequest_ExpireTime{ExpireTime: timestamppb.New(expires)},
	})
	if !partner.GetCredential().GetExpireTime().AsTime().Equal(expires) {
		t.Errorf("expire time %v, want %v", partner.GetCredential().GetExpireTime().AsTime(), expires)
	}
	list, err := s.networks(partner.GetSecret()).ListNetworks(ctx, &networksv1.ListNetworksRequest{})
	if err != nil || len(list.GetNetworks()) != 1 {
		t.Fatalf("partner lists networks: %v, %v", list, err)
	}

	// A minted admin credential manages credentials itself; a person's
	// credential keeps its person.
	person := ids.New()
	admin := s.mint(&credentialsv1.CreateCredentialRequest{
		Name: "Second admin", Kind: credentialsv1.Credential_KIND_PERSONAL, PersonId: person,
		Bindings: []*credentialsv1.Binding{{Role: credentialsv1.Binding_ROLE_ADMIN}},
	})
	if admin.GetCredential().GetExpireTime() != nil || admin.GetCredential().GetPersonId() != person {
		t.Errorf("admin credential %v", admin.GetCredential())
	}
	if _, err := s.creds(admin.GetSecret()).ListCredentials(ctx, &credentialsv1.ListCredentialsRequest{}); err != nil {
		t.Errorf("minted admin lists credentials: %v", err)
	}
}

// Every role but admin is denied every RPC of the service, and no
// credential is unauthenticated.
func TestOnlyAdmins(t *testing.T) {
	s := newSetup(t)
	existing := s.mint(coordinator()).GetCredential().GetId()
	others := map[auth.Role]string{
		auth.RoleCoordinator: s.Token(auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: "lape"}),
		auth.RoleLeader:      s.Token(auth.Binding{Role: auth.RoleLeader, Network: ids.New()}),
		auth.RoleAssociation: s.Token(auth.Binding{Role: auth.RoleAssociation, Association: ids.New()}),
		auth.RolePartner:     s.Token(auth.Binding{Role: auth.RolePartner, Region: region}),
		"":                   "",
	}
	for role, token := range others {
		c := s.creds(token)
		want := connect.CodePermissionDenied
		if token == "" {
			want = connect.CodeUnauthenticated
		}
		_, err := c.CreateCredential(ctx, coordinator())
		wantCode(t, err, want, "CreateCredential as "+string(role))
		_, err = c.ListCredentials(ctx, &credentialsv1.ListCredentialsRequest{})
		wantCode(t, err, want, "ListCredentials as "+string(role))
		_, err = c.RevokeCredential(ctx, &credentialsv1.RevokeCredentialRequest{Id: existing})
		wantCode(t, err, want, "RevokeCredential as "+string(role))
	}
	list, err := s.admin.ListCredentials(ctx, &credentialsv1.ListCredentialsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list.GetCredentials() {
		if c.GetId() == existing && c.GetState() != credentialsv1.Credential_STATE_ACTIVE {
			t.Errorf("a denied revocation revoked the credential: %v", c)
		}
	}
}

// A revoked secret stops working at once; revoking again is
// FAILED_PRECONDITION, an unknown id NOT_FOUND.
func TestRevoke(t *testing.T) {
	s := newSetup(t)
	res := s.mint(coordinator())
	n := s.networks(res.GetSecret())
	if _, err := n.ListRegions(ctx, &networksv1.ListRegionsRequest{}); err != nil {
		t.Fatalf("before revocation: %v", err)
	}
	rev, err := s.admin.RevokeCredential(ctx, &credentialsv1.RevokeCredentialRequest{Id: res.GetCredential().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if rev.GetCredential().GetState() != credentialsv1.Credential_STATE_REVOKED || rev.GetCredential().GetRevokeTime() == nil {
		t.Errorf("revoked credential %v", rev.GetCredential())
	}
	_, err = n.ListRegions(ctx, &networksv1.ListRegionsRequest{})
	wantCode(t, err, connect.CodeUnauthenticated, "revoked secret")

	_, err = s.admin.RevokeCredential(ctx, &credentialsv1.RevokeCredentialRequest{Id: res.GetCredential().GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "revoking twice")
	_, err = s.admin.RevokeCredential(ctx, &credentialsv1.RevokeCredentialRequest{Id: ids.New()})
	wantCode(t, err, connect.CodeNotFound, "revoking an unknown id")
	_, err = s.admin.RevokeCredential(ctx, &credentialsv1.RevokeCredentialRequest{Id: "vk_secret"})
	if f := fields(t, err); !slices.Equal(f, []string{"id"}) {
		t.Errorf("fields %v", f)
	}
}

// Lists page through every credential, show expiry and revocation, and
// never a secret or its hash.
func TestListNeverShowsSecrets(t *testing.T) {
	s := newSetup(t)
	var secrets []string
	short := coordinator()
	short.Name = "short-lived"
	short.Expiration = &credentialsv1.CreateCredentialRequest_Ttl{Ttl: durationpb.New(time.Hour)}
	shortID := s.mint(short).GetCredential().GetId()
	for range 4 {
		secrets = append(secrets, s.mint(coordinator()).GetSecret())
	}
	revoked := s.mint(coordinator()).GetCredential().GetId()
	if _, err := s.admin.RevokeCredential(ctx, &credentialsv1.RevokeCredentialRequest{Id: revoked}); err != nil {
		t.Fatal(err)
	}
	s.Clock.Advance(2 * time.Hour)

	var all []*credentialsv1.Credential
	var pages []string
	token := ""
	for {
		res, err := s.admin.ListCredentials(ctx, &credentialsv1.ListCredentialsRequest{PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.GetCredentials()) > 2 {
			t.Fatalf("page of %d", len(res.GetCredentials()))
		}
		js, err := protojson.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, string(js))
		all = append(all, res.GetCredentials()...)
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	// The setup's admin, the short-lived, four more and the revoked one.
	if len(all) != 7 {
		t.Fatalf("listed %d credentials, want 7", len(all))
	}
	if !slices.IsSortedFunc(all, func(a, b *credentialsv1.Credential) int { return strings.Compare(a.GetId(), b.GetId()) }) {
		t.Error("not in id order")
	}
	states := map[string]credentialsv1.Credential_State{}
	for _, c := range all {
		states[c.GetId()] = c.GetState()
	}
	if states[shortID] != credentialsv1.Credential_STATE_EXPIRED || states[revoked] != credentialsv1.Credential_STATE_REVOKED {
		t.Errorf("states %v", states)
	}
	for _, page := range pages {
		if strings.Contains(page, "vk_") {
			t.Errorf("a page shows a secret: %s", page)
		}
		for _, secret := range secrets {
			h := sha256.Sum256([]byte(secret))
			for _, enc := range []string{secret[3:], hex.EncodeToString(h[:]), base64.StdEncoding.EncodeToString(h[:]), base64.RawURLEncoding.EncodeToString(h[:])} {
				if strings.Contains(page, enc) {
					t.Errorf("a page shows a secret or its hash: %s", page)
				}
			}
		}
	}

	_, err := s.admin.ListCredentials(ctx, &credentialsv1.ListCredentialsRequest{PageToken: "bm90IGEgdG9rZW4"})
	if f := fields(t, err); !slices.Equal(f, []string{"page_token"}) {
		t.Errorf("bad page token: fields %v", f)
	}
	_, err = s.admin.ListCredentials(ctx, &credentialsv1.ListCredentialsRequest{PageSize: -1})
	if f := fields(t, err); !slices.Equal(f, []string{"page_size"}) {
		t.Errorf("negative page size: fields %v", f)
	}
}

// Invalid requests name every invalid field.
func TestCreateValidation(t *testing.T) {
	s := newSetup(t)
	past := timestamppb.New(s.Clock.Now().Add(-time.Minute))
	cases := map[string]struct {
		change func(r *credentialsv1.CreateCredentialRequest)
		fields []string
	}{
		"empty": {func(r *credentialsv1.CreateCredentialRequest) {
			proto.Reset(r)
		}, []string{"name", "kind", "bindings"}},
		"blank name": {func(r *credentialsv1.CreateCredentialRequest) { r.Name = "  " }, []string{"name"}},
		"long name":  {func(r *credentialsv1.CreateCredentialRequest) { r.Name = strings.Repeat("x", 201) }, []string{"name"}},
		"coordinator without scope": {func(r *credentialsv1.CreateCredentialRequest) {
			r.Bindings = []*credentialsv1.Binding{{Role: credentialsv1.Binding_ROLE_COORDINATOR}}
		}, []string{"bindings[0].region", "bindings[0].programme"}},
		"scopes of other roles": {func(r *credentialsv1.CreateCredentialRequest) {
			r.Bindings = append(r.Bindings,
				&credentialsv1.Binding{Role: credentialsv1.Binding_ROLE_ADMIN, Region: region},
				&credentialsv1.Binding{Role: credentialsv1.Binding_ROLE_LEADER, NetworkId: "lape", AssociationId: ids.New()},
				&credentialsv1.Binding{Role: credentialsv1.Binding_ROLE_ASSOCIATION})
		}, []string{"bindings[1].region", "bindings[2].network_id", "bindings[2].association_id", "bindings[3].association_id"}},
		"bad slugs": {func(r *credentialsv1.CreateCredentialRequest) {
			r.Bindings[0].Region, r.Bindings[0].Programme = "Pohjois Pohjanmaa", "LAPE"
		}, []string{"bindings[0].region", "bindings[0].programme"}},
		"no role": {func(r *credentialsv1.CreateCredentialRequest) {
			r.Bindings = []*credentialsv1.Binding{{}, {Role: 99}}
		}, []string{"bindings[0].role", "bindings[1].role"}},
		"partner binding on a personal credential": {func(r *credentialsv1.CreateCredentialRequest) {
			r.Bindings = []*credentialsv1.Binding{{Role: credentialsv1.Binding_ROLE_PARTNER}}
		}, []string{"bindings[0].role"}},
		"coordinator on a partner credential, with a person": {func(r *credentialsv1.CreateCredentialRequest) {
			r.Kind = credentialsv1.Credential_KIND_PARTNER
			r.PersonId = ids.New()
		}, []string{"person_id", "bindings[0].role"}},
		"person not a UUID": {func(r *credentialsv1.CreateCredentialRequest) { r.PersonId = "maija" }, []string{"person_id"}},
		"unknown kind":      {func(r *credentialsv1.CreateCredentialRequest) { r.Kind = 7 }, []string{"kind"}},
		"negative ttl": {func(r *credentialsv1.CreateCredentialRequest) {
			r.Expiration = &credentialsv1.CreateCredentialRequest_Ttl{Ttl: durationpb.New(-time.Hour)}
		}, []string{"ttl"}},
		"ttl of a century": {func(r *credentialsv1.CreateCredentialRequest) {
			r.Expiration = &credentialsv1.CreateCredentialRequest_Ttl{Ttl: durationpb.New(100 * 365 * 24 * time.Hour)}
		}, []string{"ttl"}},
		"expiry in the past": {func(r *credentialsv1.CreateCredentialRequest) {
			r.Expiration = &credentialsv1.CreateCredentialRequest_ExpireTime{ExpireTime: past}
		}, []string{"expire_time"}},
		"too many bindings": {func(r *credentialsv1.CreateCredentialRequest) {
			for range 50 {
				r.Bindings = append(r.Bindings, r.Bindings[0])
			}
		}, []string{"bindings"}},
	}
	for name, tc := range cases {
		req := coordinator()
		tc.change(req)
		_, err := s.admin.CreateCredential(ctx, req)
		got := fields(t, err)
		slices.Sort(got)
		want := slices.Clone(tc.fields)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: fields %v, want %v", name, got, want)
		}
	}
	// Nothing was minted: only the setup's admin is listed.
	list, err := s.admin.ListCredentials(ctx, &credentialsv1.ListCredentialsRequest{})
	if err != nil || len(list.GetCredentials()) != 1 {
		t.Errorf("after invalid requests: %v, %v", list, err)
	}
}
