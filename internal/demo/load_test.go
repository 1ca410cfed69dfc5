package demo

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"testing"

	"connectrpc.com/connect"

	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	"github.com/verkosto/verkosto/gen/verkosto/nominations/v1/nominationsv1connect"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/all"
)

// The demo loads through the RPCs of every service, nominations included.
func TestLoad(t *testing.T) {
	e := testenv.New(t, all.Modules())
	ctx := context.Background()
	var out bytes.Buffer
	if err := Load(ctx, Config{BaseURL: e.URL, Pool: e.Pool, Logger: slog.New(slog.DiscardHandler), Out: &out}); err != nil {
		t.Fatalf("load demo: %v", err)
	}
	c := nominationsv1connect.NewNominationsServiceClient(http.DefaultClient, e.URL, connect.WithInterceptors(auth.BearerToken(e.Admin())))
	list, err := c.ListRepresentationRequests(ctx, &nominationsv1.ListRepresentationRequestsRequest{Region: Region})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.GetRepresentationRequests()) != 2 {
		t.Fatalf("demo representation requests: %v", list)
	}
	for _, r := range list.GetRepresentationRequests() {
		view, err := c.GetRepresentationRequest(ctx, &nominationsv1.GetRepresentationRequestRequest{Id: r.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		seats := view.GetSeats()
		switch r.GetBodyName().GetFi() {
		case perhekeskusverkosto:
			if r.GetWorkingGroupId() != "" || r.GetState() != nominationsv1.RepresentationRequest_STATE_OPEN || len(seats) != 2 ||
				seats[0].GetHolder() == nil || seats[0].GetDeputy() == nil || seats[1].GetHolder() != nil || !seats[1].GetNeedsNomination() {
				t.Errorf("the family centre network's request: %v seats %v", r, seats)
			}
		default:
			if r.GetWorkingGroupId() == "" || r.GetProgramme() != "ikaihmiset" || len(seats) != 2 || len(seats[0].GetPending()) != 1 ||
				seats[0].GetPending()[0].GetState() != nominationsv1.Nomination_STATE_PROPOSED {
				t.Errorf("the working group's request: %v seats %v", r, seats)
			}
		}
	}
	// The loader's own credentials are revoked.
	var live int
	if err := e.Pool.QueryRow(ctx, `SELECT count(*) FROM auth.credentials WHERE name LIKE 'demo loader:%' AND revoked_at IS NULL`).Scan(&live); err != nil || live != 0 {
		t.Fatalf("%d loader credentials left (%v)", live, err)
	}
}
