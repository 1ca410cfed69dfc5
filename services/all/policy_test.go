package all_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/all"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// procedures lists every RPC of every served service, from the descriptors.
func procedures(t *testing.T, e *testenv.Env) map[string]protoreflect.MethodDescriptor {
	t.Helper()
	out := map[string]protoreflect.MethodDescriptor{}
	for _, name := range e.App.ServiceNames() {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		methods := d.(protoreflect.ServiceDescriptor).Methods()
		for i := range methods.Len() {
			out["/"+name+"/"+string(methods.Get(i).Name())] = methods.Get(i)
		}
	}
	return out
}

// Every RPC of every service has a policy, and every policy names an RPC:
// a new RPC without a policy fails here (and is refused at run time).
func TestEveryRPCHasAPolicy(t *testing.T) {
	e := testenv.New(t, all.Modules())
	procs := procedures(t, e)
	if len(procs) == 0 {
		t.Fatal("no RPCs found")
	}
	for proc := range procs {
		pol, ok := e.App.Policies[proc]
		if !ok {
			t.Errorf("%s has no authorization policy", proc)
			continue
		}
		if len(pol.Roles) == 0 || pol.Rule == "" {
			t.Errorf("%s: policy without roles or rule", proc)
		}
	}
	for proc := range e.App.Policies {
		if _, ok := procs[proc]; !ok {
			t.Errorf("policy for %s, which no service serves", proc)
		}
	}
}

// Every role a policy leaves out is refused by every RPC, before the handler
// looks at the request (an empty one here), with PERMISSION_DENIED.
func TestRolesOutsidePoliciesAreDenied(t *testing.T) {
	e := testenv.New(t, all.Modules())
	ctx := context.Background()
	tokens := map[auth.Role]string{
		auth.RoleAdmin:       e.Token(auth.Binding{Role: auth.RoleAdmin}),
		auth.RoleCoordinator: e.Token(auth.Binding{Role: auth.RoleCoordinator, Region: "pohjois-pohjanmaa", Programme: "lape"}),
		auth.RoleLeader:      e.Token(auth.Binding{Role: auth.RoleLeader, Network: ids.New()}),
		auth.RoleAssociation: e.Token(auth.Binding{Role: auth.RoleAssociation, Association: ids.New()}),
		auth.RolePartner:     e.Token(auth.Binding{Role: auth.RolePartner, Region: "pohjois-pohjanmaa"}),
	}
	checked := 0
	for proc, method := range procedures(t, e) {
		pol := e.App.Policies[proc]
		for _, role := range auth.Roles {
			if slices.Contains(pol.Roles, role) {
				continue
			}
			err := call(ctx, e, proc, method, tokens[role])
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodePermissionDenied {
				t.Errorf("%s as %s: want permission_denied, got %v", proc, role, err)
			}
			checked++
		}
		// And no credential at all is UNAUTHENTICATED, but on public procedures.
		if err := call(ctx, e, proc, method, ""); !pol.Public && connect.CodeOf(err) != connect.CodeUnauthenticated {
			t.Errorf("%s without a credential: want unauthenticated, got %v", proc, err)
		}
	}
	t.Logf("%d role × RPC denials checked", checked)
}

// call invokes a procedure with an empty request, whatever its types.
func call(ctx context.Context, e *testenv.Env, proc string, method protoreflect.MethodDescriptor, token string) error {
	var opts []connect.ClientOption
	if token != "" {
		opts = append(opts, connect.WithInterceptors(auth.BearerToken(token)))
	}
	c := connect.NewClient[emptypb.Empty, emptypb.Empty](http.DefaultClient, e.URL+proc, opts...)
	if method.IsStreamingServer() {
		stream, err := c.CallServerStream(ctx, connect.NewRequest(&emptypb.Empty{}))
		if err != nil {
			return err
		}
		defer stream.Close()
		for stream.Receive() {
			return nil
		}
		return stream.Err()
	}
	_, err := c.CallUnary(ctx, connect.NewRequest(&emptypb.Empty{}))
	return err
}
