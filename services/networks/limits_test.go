package networks_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/server"
	"github.com/verkosto/verkosto/internal/testenv"
)

func TestRateLimitPerCredential(t *testing.T) {
	s := newSetup(t, testenv.Options{Limits: server.Limits{PerSecond: 1, Burst: 5}})
	c := s.as(auth.Binding{Role: auth.RolePartner})
	for i := range 5 {
		if _, err := c.ListRegions(ctx, &networksv1.ListRegionsRequest{}); err != nil {
			t.Fatalf("call %d within the burst: %v", i, err)
		}
	}
	_, err := c.ListRegions(ctx, &networksv1.ListRegionsRequest{})
	wantCode(t, err, connect.CodeResourceExhausted, "rate limit")
	var ce *connect.Error
	errors.As(err, &ce)
	var retry *errdetails.RetryInfo
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if r, ok := v.(*errdetails.RetryInfo); ok {
				retry = r
			}
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 {
		t.Fatalf("no retry info in %v", ce)
	}
	if ce.Meta().Get("Retry-After") == "" {
		t.Fatal("no Retry-After header")
	}
	// Another credential has its own bucket.
	if _, err := s.admin.ListRegions(ctx, &networksv1.ListRegionsRequest{}); err != nil {
		t.Fatalf("another credential: %v", err)
	}
}

// A timed-out call cancels its database work: the update waiting for a lock
// is gone from the server once the call gave up.
func TestDeadlineReachesTheDatabase(t *testing.T) {
	s := newSetup(t)
	a := s.association("Lukittu ry")
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `SELECT 1 FROM networks.associations WHERE id = $1 FOR UPDATE`, a.GetId()); err != nil {
		t.Fatal(err)
	}
	callCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = s.admin.UpdateAssociation(callCtx, &networksv1.UpdateAssociationRequest{
		Association: &networksv1.Association{Id: a.GetId(), Website: "https://x.example.org"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"website"}}})
	wantCode(t, err, connect.CodeDeadlineExceeded)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var waiting int
		if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the update still waits in the database after its call timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A small gzip body that inflates past the message limit is refused, not
// inflated into memory.
func TestGzipBombRefused(t *testing.T) {
	s := newSetup(t)
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	zw.Write([]byte(`{"query":"`)) //nolint:errcheck
	chunk := []byte(strings.Repeat("x", 1<<20))
	for range 64 { // 64 MiB inflated
		zw.Write(chunk) //nolint:errcheck
	}
	zw.Write([]byte(`"}`)) //nolint:errcheck
	zw.Close()
	if body.Len() > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", body.Len())
	}
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/verkosto.networks.v1.NetworksService/ListAssociations", &body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Authorization", "Bearer "+s.Admin())
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(b), "resource_exhausted") {
		t.Fatalf("gzip bomb answered %d %s", res.StatusCode, b)
	}
}
