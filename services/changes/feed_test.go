package changes_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	"github.com/verkosto/verkosto/gen/verkosto/changes/v1/changesv1connect"
	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/cursor"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/changes"
	"github.com/verkosto/verkosto/services/networks"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

type setup struct {
	*testenv.Env
	t     *testing.T
	admin networksv1connect.NetworksServiceClient
}

func newSetup(t *testing.T) *setup {
	t.Parallel()
	e := testenv.New(t, []app.Module{networks.Module(), changes.Module()})
	return &setup{Env: e, t: t, admin: networksv1connect.NewNetworksServiceClient(e.HTTPClient(), e.URL,
		connect.WithInterceptors(auth.BearerToken(e.Admin())))}
}

func (s *setup) feed(opts []connect.ClientOption, bindings ...auth.Binding) changesv1connect.ChangeFeedServiceClient {
	opts = append(opts, connect.WithInterceptors(auth.BearerToken(s.Token(bindings...))))
	return changesv1connect.NewChangeFeedServiceClient(s.H2Client(), s.URL, opts...)
}

func (s *setup) network(programme string) *networksv1.Network {
	s.t.Helper()
	res, err := s.admin.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: "pohjois-pohjanmaa", Programme: programme}})
	if err != nil {
		s.t.Fatal(err)
	}
	return res.GetNetwork()
}

func (s *setup) association(name string) {
	s.t.Helper()
	if _, err := s.admin.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{
		Name: &commonv1.LocalizedText{Fi: name}}}); err != nil {
		s.t.Fatal(err)
	}
}

// listAll pages through the feed from cursor.
func listAll(t *testing.T, c changesv1connect.ChangeFeedServiceClient, cursor string, f *changesv1.ChangeFilter, pageSize int32) ([]*changesv1.ChangeRecord, string) {
	t.Helper()
	var out []*changesv1.ChangeRecord
	for {
		res, err := c.ListChanges(ctx, &changesv1.ListChangesRequest{Cursor: cursor, Filter: f, PageSize: pageSize})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, res.GetChanges()...)
		if res.GetNextCursor() == cursor {
			return out, cursor
		}
		cursor = res.GetNextCursor()
	}
}

// waitPublished waits until the stream holds n messages.
func (s *setup) waitPublished(n uint64) {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := s.JS.Stream(ctx, outbox.StreamName); err == nil {
			if info, err := st.Info(ctx); err == nil && info.State.Msgs >= n {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.t.Fatalf("stream did not reach %d messages", n)
}

func wantCode(t *testing.T, err error, code connect.Code, reason string) {
	t.Helper()
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != code {
		t.Fatalf("want %v, got %v", code, err)
	}
	if reason != "" && !containsReason(ce, reason) {
		t.Fatalf("error %v lacks reason %s", ce, reason)
	}
}

func containsReason(ce *connect.Error, reason string) bool {
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			continue
		}
		if info, ok := v.(interface{ GetReason() string }); ok && info.GetReason() == reason {
			return true
		}
	}
	return false
}

func TestListFiltersScopeAndResumes(t *testing.T) {
	s := newSetup(t)
	s.network("lape")
	s.network("ikaihmiset")
	s.association("ADHD-liitto")
	s.association("Psoriasisliitto")
	s.waitPublished(4)

	admin := s.feed(nil, auth.Binding{Role: auth.RoleAdmin})
	all, _ := listAll(t, admin, "", nil, 0)
	if len(all) != 4 {
		t.Fatalf("admin sees %d changes, want 4", len(all))
	}
	// Page by page, resuming from each cursor: the same changes, in order.
	paged, last := listAll(t, admin, "", nil, 1)
	for i := range all {
		if paged[i].GetChange().GetId() != all[i].GetChange().GetId() {
			t.Fatalf("paging changed the order at %d", i)
		}
	}
	rest, _ := listAll(t, admin, all[1].GetCursor(), nil, 0)
	if len(rest) != 2 || rest[0].GetChange().GetId() != all[2].GetChange().GetId() {
		t.Fatalf("resume after the second change gave %d changes", len(rest))
	}
	if res, err := admin.ListChanges(ctx, &changesv1.ListChangesRequest{Cursor: last}); err != nil || len(res.GetChanges()) != 0 || res.GetNextCursor() != last {
		t.Fatalf("at the end: %v %v", res, err)
	}

	// A LAPE partner sees LAPE changes and the region-less reference data.
	partner := s.feed(nil, auth.Binding{Role: auth.RolePartner, Region: "pohjois-pohjanmaa", Programme: "lape"})
	seen, _ := listAll(t, partner, "", nil, 0)
	if len(seen) != 3 {
		t.Fatalf("LAPE partner sees %d changes, want 3", len(seen))
	}
	for _, r := range seen {
		if p := r.GetChange().GetProgramme(); p != "lape" && p != "_" {
			t.Fatalf("partner saw a change of %s", p)
		}
	}
	kinds, _ := listAll(t, admin, "", &changesv1.ChangeFilter{Kinds: []string{"association"}}, 0)
	if len(kinds) != 2 {
		t.Fatalf("kind filter: %d", len(kinds))
	}
	_, err := partner.ListChanges(ctx, &changesv1.ListChangesRequest{Filter: &changesv1.ChangeFilter{Regions: []string{"lappi"}}})
	wantCode(t, err, connect.CodePermissionDenied, "")
	_, err = partner.ListChanges(ctx, &changesv1.ListChangesRequest{Filter: &changesv1.ChangeFilter{Programmes: []string{"ikaihmiset"}}})
	wantCode(t, err, connect.CodePermissionDenied, "")
	_, err = s.feed(nil, auth.Binding{Role: auth.RoleAssociation, Association: ids.New()}).ListChanges(ctx, &changesv1.ListChangesRequest{})
	wantCode(t, err, connect.CodePermissionDenied, "")
	_, err = admin.ListChanges(ctx, &changesv1.ListChangesRequest{Cursor: "bogus"})
	wantCode(t, err, connect.CodeInvalidArgument, "")
	_, err = admin.ListChanges(ctx, &changesv1.ListChangesRequest{Filter: &changesv1.ChangeFilter{Regions: []string{"Bad Region"}}})
	wantCode(t, err, connect.CodeInvalidArgument, "")
}

func TestExpiredCursor(t *testing.T) {
	s := newSetup(t)
	s.network("lape")
	for i := range 5 {
		s.association(fmt.Sprint("Yhdistys ", i))
	}
	s.waitPublished(6)
	admin := s.feed(nil, auth.Binding{Role: auth.RoleAdmin})
	all, _ := listAll(t, admin, "", nil, 0)
	stream, err := s.JS.Stream(ctx, outbox.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Purge(ctx, jetstream.WithPurgeKeep(2)); err != nil {
		t.Fatal(err)
	}
	_, err = admin.ListChanges(ctx, &changesv1.ListChangesRequest{Cursor: all[0].GetCursor()})
	wantCode(t, err, connect.CodeFailedPrecondition, "CURSOR_EXPIRED")
	// The cursor just before the kept changes still works.
	res, err := admin.ListChanges(ctx, &changesv1.ListChangesRequest{Cursor: all[3].GetCursor()})
	if err != nil || len(res.GetChanges()) != 2 {
		t.Fatalf("from the last kept position: %v %v", res, err)
	}
	_, err = admin.ListChanges(ctx, &changesv1.ListChangesRequest{Cursor: cursor.Encode(1 << 40)})
	wantCode(t, err, connect.CodeFailedPrecondition, "CURSOR_EXPIRED")
}

// publishSynthetic puts n changes straight into the stream, as the relays
// would, so a test can make thousands quickly.
func (s *setup) publishSynthetic(n int, programme string) []string {
	s.t.Helper()
	payload, _ := anypb.New(&networksv1.Network{Region: "pohjois-pohjanmaa", Programme: programme})
	var idsOut []string
	for i := range n {
		c := &changesv1.Change{Id: ids.New(), Kind: "network", Change: "updated", AggregateId: "agg", AggregateVersion: int64(i + 1),
			Region: "pohjois-pohjanmaa", Programme: programme, Payload: payload, Service: "networks"}
		b, _ := proto.Marshal(c)
		if _, err := s.JS.PublishAsync(outbox.Subject(c.Region, c.Programme, c.Kind, c.Change), b, jetstream.WithMsgID(c.Id)); err != nil {
			s.t.Fatal(err)
		}
		idsOut = append(idsOut, c.Id)
	}
	select {
	case <-s.JS.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		s.t.Fatal("publishing timed out")
	}
	return idsOut
}

// A watch disconnected while thousands of changes happen, then resumed from
// its last cursor, gets exactly the missed changes, in order.
func TestWatchResumesExactly(t *testing.T) {
	for _, protocol := range []string{"connect-http1", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			s := newSetup(t)
			s.network("lape") // creates the stream
			s.waitPublished(1)
			var client changesv1connect.ChangeFeedServiceClient
			token := s.Token(auth.Binding{Role: auth.RolePartner, Region: "pohjois-pohjanmaa", Programme: "lape"})
			if protocol == "grpc" {
				client = changesv1connect.NewChangeFeedServiceClient(s.H2Client(), s.URL, connect.WithGRPC(), connect.WithInterceptors(auth.BearerToken(token)))
			} else {
				client = changesv1connect.NewChangeFeedServiceClient(&http.Client{}, s.URL, connect.WithInterceptors(auth.BearerToken(token)))
			}
			wctx, cancel := context.WithCancel(ctx)
			stream, err := client.WatchChanges(wctx, &changesv1.WatchChangesRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if !stream.Receive() || stream.Msg().GetHeartbeat() == nil {
				t.Fatalf("watch did not open with a heartbeat: %v", stream.Err())
			}
			first := s.publishSynthetic(10, "lape")
			s.publishSynthetic(5, "ikaihmiset") // outside the partner's scope
			var cursor string
			for i := 0; i < 10; i++ {
				if !stream.Receive() {
					t.Fatalf("watch ended: %v", stream.Err())
				}
				rec := stream.Msg().GetChange()
				if rec == nil {
					i--
					continue
				}
				if rec.GetChange().GetId() != first[i] {
					t.Fatalf("change %d: got %s want %s", i, rec.GetChange().GetId(), first[i])
				}
				cursor = rec.GetCursor()
			}
			cancel()
			stream.Close()

			missed := s.publishSynthetic(3000, "lape")
			s.publishSynthetic(100, "mielenterveys")
			stream, err = client.WatchChanges(ctx, &changesv1.WatchChangesRequest{Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			defer stream.Close()
			for i := 0; i < len(missed); i++ {
				if !stream.Receive() {
					t.Fatalf("resumed watch ended after %d: %v", i, stream.Err())
				}
				rec := stream.Msg().GetChange()
				if rec == nil {
					i--
					continue
				}
				if rec.GetChange().GetId() != missed[i] {
					t.Fatalf("resumed change %d: got %s want %s", i, rec.GetChange().GetId(), missed[i])
				}
			}
		})
	}
}

func (s *setup) networksAs(token string) networksv1connect.NetworksServiceClient {
	return networksv1connect.NewNetworksServiceClient(s.HTTPClient(), s.URL, connect.WithInterceptors(auth.BearerToken(token)))
}

func nameFi(s string) *commonv1.LocalizedText { return &commonv1.LocalizedText{Fi: s} }
