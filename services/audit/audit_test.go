package audit_test

import (
	"context"
	"strings"
	"testing"

	"connectrpc.com/connect"

	auditv1 "github.com/verkosto/verkosto/gen/verkosto/audit/v1"
	"github.com/verkosto/verkosto/gen/verkosto/audit/v1/auditv1connect"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/audit"
	"github.com/verkosto/verkosto/services/networks"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestTrailRecordsWritesAndDenials(t *testing.T) {
	e := testenv.New(t, []app.Module{networks.Module(), audit.Module()})
	ctx := context.Background()
	nets := func(token string) networksv1connect.NetworksServiceClient {
		var opts []connect.ClientOption
		if token != "" {
			opts = append(opts, connect.WithInterceptors(auth.BearerToken(token)))
		}
		return networksv1connect.NewNetworksServiceClient(e.HTTPClient(), e.URL, opts...)
	}
	admin := nets(e.Admin())
	lape, err := admin.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: "pohjois-pohjanmaa", Programme: "lape"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: "lappi", Programme: "lape"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CreatePerson(ctx, &networksv1.CreatePersonRequest{Person: &networksv1.Person{
		GivenName: "Salla", FamilyName: "Salainen", Email: "salla.salainen@example.org", Phone: "+358 40 999 9999"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.ListRegions(ctx, &networksv1.ListRegionsRequest{}); err != nil { // a read: not audited
		t.Fatal(err)
	}
	partner := nets(e.Token(auth.Binding{Role: auth.RolePartner, Region: "pohjois-pohjanmaa"}))
	_, err = partner.UpdateNetwork(ctx, &networksv1.UpdateNetworkRequest{Network: &networksv1.Network{Id: lape.GetNetwork().GetId()}})
	if connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("partner write: %v", err)
	}
	if _, err := nets("").ListRegions(ctx, &networksv1.ListRegionsRequest{}); connect.CodeOf(err) != connect.CodeUnauthenticated {
		t.Fatalf("anonymous: %v", err)
	}
	e.App.Trail.Flush(ctx)

	list := func(token string, req *auditv1.ListAuditRecordsRequest) ([]*auditv1.AuditRecord, error) {
		c := auditv1connect.NewAuditServiceClient(e.HTTPClient(), e.URL, connect.WithInterceptors(auth.BearerToken(token)))
		res, err := c.ListAuditRecords(ctx, req)
		return res.GetRecords(), err
	}
	all, err := list(e.Admin(), &auditv1.ListAuditRecordsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	byOutcome := map[string][]*auditv1.AuditRecord{}
	for _, r := range all {
		if r.GetRequestId() == "" || r.GetTime() == nil {
			t.Fatalf("record without request id or time: %v", r)
		}
		if strings.HasSuffix(r.GetProcedure(), "/ListRegions") && r.GetOutcome() == "ok" {
			t.Fatalf("a successful read was audited: %v", r)
		}
		byOutcome[r.GetOutcome()] = append(byOutcome[r.GetOutcome()], r)
	}
	if len(byOutcome["ok"]) != 3 || len(byOutcome["permission_denied"]) != 1 || len(byOutcome["unauthenticated"]) != 1 {
		t.Fatalf("records by outcome: ok %d, denied %d, unauthenticated %d", len(byOutcome["ok"]), len(byOutcome["permission_denied"]), len(byOutcome["unauthenticated"]))
	}
	denied := byOutcome["permission_denied"][0]
	if denied.GetResourceId() != lape.GetNetwork().GetId() || denied.GetCredentialId() == "" || !strings.HasSuffix(denied.GetProcedure(), "/UpdateNetwork") {
		t.Fatalf("denied record: %v", denied)
	}
	// A coordinator sees the records of their region × programme only.
	coordinator := e.Token(auth.Binding{Role: auth.RoleCoordinator, Region: "pohjois-pohjanmaa", Programme: "lape"})
	mine, err := list(coordinator, &auditv1.ListAuditRecordsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 || mine[0].GetResourceId() != lape.GetNetwork().GetId() {
		t.Fatalf("coordinator sees %v", mine)
	}
	if _, err := list(e.Token(auth.Binding{Role: auth.RolePartner}), &auditv1.ListAuditRecordsRequest{}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("partner lists the trail: %v", err)
	}
	// No values of personal data in the trail.
	var dump string
	if err := e.Pool.QueryRow(ctx, `SELECT coalesce(string_agg(r::text, ' '), '') FROM audit.records r`).Scan(&dump); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"salla.salainen@example.org", "Salainen", "999 9999"} {
		if strings.Contains(dump, secret) {
			t.Fatalf("the audit trail holds %q", secret)
		}
	}
}
