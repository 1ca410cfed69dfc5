package networks_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	healthv1 "google.golang.org/grpc/health/grpc_health_v1"

	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

// The same calls work over gRPC and gRPC-Web as over Connect, errors included.
func TestProtocols(t *testing.T) {
	s := newSetup(t)
	token := s.Admin()
	for name, opts := range map[string][]connect.ClientOption{
		"grpc":     {connect.WithGRPC()},
		"grpc-web": {connect.WithGRPCWeb()},
		"connect":  {connect.WithProtoJSON()},
	} {
		t.Run(name, func(t *testing.T) {
			opts = append(opts, connect.WithInterceptors(auth.BearerToken(token)))
			c := networksv1connect.NewNetworksServiceClient(s.H2Client(), s.URL, opts...)
			res, err := c.ListRegions(ctx, &networksv1.ListRegionsRequest{})
			if err != nil || len(res.GetRegions()) != 22 {
				t.Fatalf("ListRegions: %v", err)
			}
			_, err = c.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: "x"})
			wantCode(t, err, connect.CodeInvalidArgument, "id")
			noAuth := networksv1connect.NewNetworksServiceClient(s.H2Client(), s.URL, opts[:1]...)
			_, err = noAuth.ListRegions(ctx, &networksv1.ListRegionsRequest{})
			wantCode(t, err, connect.CodeUnauthenticated)
		})
	}
}

func TestHealthReflectionMetrics(t *testing.T) {
	s := newSetup(t)
	health := connect.NewClient[healthv1.HealthCheckRequest, healthv1.HealthCheckResponse](
		s.H2Client(), s.URL+"/grpc.health.v1.Health/Check", connect.WithGRPC())
	res, err := health.CallUnary(ctx, connect.NewRequest(&healthv1.HealthCheckRequest{}))
	if err != nil || res.Msg.GetStatus() != healthv1.HealthCheckResponse_SERVING {
		t.Fatalf("health: %v %v", res, err)
	}
	res, err = health.CallUnary(ctx, connect.NewRequest(&healthv1.HealthCheckRequest{Service: networksv1connect.NetworksServiceName}))
	if err != nil || res.Msg.GetStatus() != healthv1.HealthCheckResponse_SERVING {
		t.Fatalf("health of service: %v %v", res, err)
	}
	_, err = health.CallUnary(ctx, connect.NewRequest(&healthv1.HealthCheckRequest{Service: "nope.v1.Nope"}))
	wantCode(t, err, connect.CodeNotFound)

	stream := grpcreflect.NewClient(s.H2Client(), s.URL).NewStream(ctx)
	names, err := stream.ListServices()
	stream.Close()
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for _, n := range names {
		list = append(list, string(n))
	}
	joined := strings.Join(list, " ")
	for _, want := range []string{networksv1connect.NetworksServiceName, "grpc.health.v1.Health"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("reflection lists %v, missing %s", list, want)
		}
	}

	if _, err := s.admin.ListRegions(ctx, &networksv1.ListRegionsRequest{}); err != nil {
		t.Fatal(err)
	}
	body := get(t, s.URL+"/metrics")
	if !strings.Contains(body, `verkosto_rpc_requests_total{code="ok",procedure="/verkosto.networks.v1.NetworksService/ListRegions"}`) {
		t.Fatalf("metrics lack the RPC counter:\n%.2000s", body)
	}
	if got := get(t, s.URL+"/ready"); !strings.Contains(got, "ready") {
		t.Fatalf("ready: %s", got)
	}
}

func TestMessageSizeLimit(t *testing.T) {
	s := newSetup(t)
	_, err := s.admin.ListAssociations(ctx, &networksv1.ListAssociationsRequest{Query: strings.Repeat("x", 5<<20)})
	wantCode(t, err, connect.CodeResourceExhausted)
}

func get(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
