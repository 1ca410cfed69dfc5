package networks_test

import (
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/services/networks"
)

func TestValidBusinessID(t *testing.T) {
	for id, want := range map[string]bool{
		"0201256-6": true,  // Nokia Oyj
		"0112038-9": true,  // Finnish Tax Administration
		"0201256-5": false, // wrong check digit
		"0201256":   false,
		"201256-6":  false,
		"0201256-X": false,
		"1572860-0": true,
		"0000001-9": true, // remainder 2 -> 9
		"0000010-1": false,
	} {
		if got := networks.ValidBusinessID(id); got != want {
			t.Errorf("ValidBusinessID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestCreateAssociationValidation(t *testing.T) {
	s := newSetup(t)
	cases := []struct {
		name  string
		a     *networksv1.Association
		field string
	}{
		{"missing name", &networksv1.Association{}, "association.name.fi"},
		{"bad business id", &networksv1.Association{Name: &commonv1.LocalizedText{Fi: "X ry"}, BusinessId: "1234567-2"}, "association.business_id"},
		{"bad email", &networksv1.Association{Name: &commonv1.LocalizedText{Fi: "X ry"}, ContactEmail: "nope"}, "association.contact_email"},
		{"bad website", &networksv1.Association{Name: &commonv1.LocalizedText{Fi: "X ry"}, Website: "ftp://x"}, "association.website"},
		{"server-owned id", &networksv1.Association{Name: &commonv1.LocalizedText{Fi: "X ry"}, Id: "01900000-0000-7000-8000-000000000000"}, "association.id"},
		{"server-owned etag", &networksv1.Association{Name: &commonv1.LocalizedText{Fi: "X ry"}, Etag: "7"}, "association.etag"},
	}
	for _, c := range cases {
		_, err := s.admin.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: c.a})
		t.Run(c.name, func(t *testing.T) { wantCode(t, err, connect.CodeInvalidArgument, c.field) })
	}
	res, err := s.admin.ListAssociations(ctx, &networksv1.ListAssociationsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GetAssociations()) != 0 {
		t.Fatalf("failed creates stored %d associations", len(res.GetAssociations()))
	}
}

func TestCreateAssociationIdempotentAndUnique(t *testing.T) {
	s := newSetup(t)
	req := &networksv1.CreateAssociationRequest{RequestId: "req-1", Association: &networksv1.Association{
		Name: &commonv1.LocalizedText{Fi: "Nokia-yhdistys"}, BusinessId: "0201256-6",
	}}
	first, err := s.admin.CreateAssociation(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.admin.CreateAssociation(ctx, req)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if first.GetAssociation().GetId() != again.GetAssociation().GetId() {
		t.Fatalf("retry created a second association")
	}
	req.Association.Name.Fi = "Toinen"
	_, err = s.admin.CreateAssociation(ctx, req)
	wantCode(t, err, connect.CodeInvalidArgument, "request_id")
	req.RequestId = "req-2"
	_, err = s.admin.CreateAssociation(ctx, req)
	wantCode(t, err, connect.CodeAlreadyExists, "0201256-6")
}

func TestUpdateAssociation(t *testing.T) {
	s := newSetup(t)
	a := s.association("Oulun seudun muistiyhdistys ry")
	other := s.association("Toinen ry")
	contact := s.as(auth.Binding{Role: auth.RoleAssociation, Association: a.GetId()})
	mask := &fieldmaskpb.FieldMask{Paths: []string{"website"}}

	res, err := contact.UpdateAssociation(ctx, &networksv1.UpdateAssociationRequest{
		Association: &networksv1.Association{Id: a.GetId(), Etag: a.GetEtag(), Website: "https://muisti.example.org"}, UpdateMask: mask})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetAssociation().GetWebsite() != "https://muisti.example.org" || res.GetAssociation().GetName().GetFi() != a.GetName().GetFi() {
		t.Fatalf("update changed the wrong fields: %v", res.GetAssociation())
	}
	if res.GetAssociation().GetEtag() == a.GetEtag() {
		t.Fatal("etag did not change")
	}
	// Stale etag.
	_, err = contact.UpdateAssociation(ctx, &networksv1.UpdateAssociationRequest{
		Association: &networksv1.Association{Id: a.GetId(), Etag: a.GetEtag(), Website: "https://x.example.org"}, UpdateMask: mask})
	wantCode(t, err, connect.CodeAborted, "stale")
	// Another association's contact.
	_, err = s.as(auth.Binding{Role: auth.RoleAssociation, Association: other.GetId()}).UpdateAssociation(ctx,
		&networksv1.UpdateAssociationRequest{Association: &networksv1.Association{Id: a.GetId(), Website: "https://x.example.org"}, UpdateMask: mask})
	wantCode(t, err, connect.CodePermissionDenied)
	// A partner reads but never writes.
	_, err = s.as(auth.Binding{Role: auth.RolePartner}).UpdateAssociation(ctx,
		&networksv1.UpdateAssociationRequest{Association: &networksv1.Association{Id: a.GetId(), Website: "https://x.example.org"}, UpdateMask: mask})
	wantCode(t, err, connect.CodePermissionDenied)
	// Server-owned and unknown paths are refused.
	for _, path := range []string{"id", "etag", "create_time", "nonsense"} {
		_, err = contact.UpdateAssociation(ctx, &networksv1.UpdateAssociationRequest{
			Association: &networksv1.Association{Id: a.GetId()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{path}}})
		wantCode(t, err, connect.CodeInvalidArgument, "update_mask", path)
	}
	_, err = contact.UpdateAssociation(ctx, &networksv1.UpdateAssociationRequest{Association: &networksv1.Association{Id: a.GetId()}})
	wantCode(t, err, connect.CodeInvalidArgument, "update_mask")
}

func TestUnauthenticated(t *testing.T) {
	s := newSetup(t)
	for _, c := range []networksv1connect.NetworksServiceClient{s.client(""), s.client("vk_not-a-real-token"), s.client("Basic abc")} {
		_, err := c.ListRegions(ctx, &networksv1.ListRegionsRequest{})
		wantCode(t, err, connect.CodeUnauthenticated)
	}
	id, secret, err := s.Creds.Create(ctx, auth.NewCredential{Name: "revoked", Bindings: []auth.Binding{{Role: auth.RoleAdmin}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.client(secret).ListRegions(ctx, &networksv1.ListRegionsRequest{}); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	if err := s.Creds.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	// Revoked elsewhere than in the server's own store (as by the CLI), it
	// stops working within the principal cache's lifetime.
	s.Clock.Advance(auth.CacheTTL)
	_, err = s.client(secret).ListRegions(ctx, &networksv1.ListRegionsRequest{})
	wantCode(t, err, connect.CodeUnauthenticated)
}

func TestReferenceData(t *testing.T) {
	s := newSetup(t)
	partner := s.as(auth.Binding{Role: auth.RolePartner, Region: region})
	regions, err := partner.ListRegions(ctx, &networksv1.ListRegionsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(regions.GetRegions()) != 22 {
		t.Fatalf("want 22 regions, got %d", len(regions.GetRegions()))
	}
	found := false
	for _, r := range regions.GetRegions() {
		if r.GetSlug() == region && r.GetName().GetFi() == "Pohjois-Pohjanmaa" && r.GetName().GetSv() == "Norra Österbotten" {
			found = true
		}
	}
	if !found {
		t.Fatal("Pohjois-Pohjanmaa missing or misnamed")
	}
	progs, err := partner.ListProgrammes(ctx, &networksv1.ListProgrammesRequest{})
	if err != nil || len(progs.GetProgrammes()) != 4 {
		t.Fatalf("want 4 programmes: %v %v", progs, err)
	}
	newProg := &networksv1.CreateProgrammeRequest{Programme: &networksv1.Programme{Slug: "vammaispalvelut", Name: &commonv1.LocalizedText{Fi: "Vammaispalvelut"}}}
	_, err = s.as(auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: "lape"}).CreateProgramme(ctx, newProg)
	wantCode(t, err, connect.CodePermissionDenied)
	if _, err := s.admin.CreateProgramme(ctx, newProg); err != nil {
		t.Fatal(err)
	}
	_, err = s.admin.CreateProgramme(ctx, newProg)
	wantCode(t, err, connect.CodeAlreadyExists)
	_, err = s.admin.CreateProgramme(ctx, &networksv1.CreateProgrammeRequest{Programme: &networksv1.Programme{Slug: "Bad Slug"}})
	wantCode(t, err, connect.CodeInvalidArgument, "programme.slug", "programme.name.fi")
}
