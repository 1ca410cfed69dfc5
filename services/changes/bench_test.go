package changes_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/cursor"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/services/changes"
)

// feedStream starts a NATS server with JetStream and fills the changes
// stream with n changes of ~300 bytes, straight through PublishAsync: 999 of
// every 1000 in kainuu × lape, one in lappi × lape. The server does not
// sync every write (unlike Verkosto's): that only makes seeding fast; how
// the feed reads is the same.
func feedStream(b *testing.B, n int) jetstream.JetStream {
	b.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: server.RANDOM_PORT, JetStream: true,
		StoreDir: b.TempDir(), NoSigs: true, MaxPayload: 8 << 20})
	if err != nil {
		b.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		b.Fatal("NATS not ready")
	}
	b.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(8192))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, outbox.StreamConfig(1, 0)); err != nil {
		b.Fatal(err)
	}
	payload, _ := anypb.New(&networksv1.Membership{Id: ids.New(), NetworkId: ids.New(), AssociationId: ids.New(),
		State: networksv1.Membership_STATE_ACTIVE, ApplicationNote: "Haemme mukaan verkostoon."})
	start := time.Now()
	for i := range n {
		region := "kainuu"
		if i%1000 == 999 {
			region = "lappi"
		}
		c := &changesv1.Change{Id: ids.New(), Kind: "network", Change: "member_approved", AggregateId: ids.New(), AggregateVersion: 2,
			Region: region, Programme: "lape", Payload: payload, Service: "networks",
			Actor: &changesv1.Actor{Id: ids.New(), DisplayName: "Koordinaattori"}}
		data, _ := proto.Marshal(c)
		if _, err := js.PublishAsync(outbox.Subject(region, "lape", c.Kind, c.Change), data, jetstream.WithMsgID(c.Id)); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		b.Fatal("seeding timed out")
	}
	b.Logf("seeded %d changes in %s", n, time.Since(start).Round(time.Millisecond))
	return js
}

// BenchmarkListChanges: one ListChanges page of 100 over a stream of 10k,
// 100k (and, with VERKOSTO_BENCH_1M=1, 1M) changes: from the start, from the
// middle, near the end (a follower catching up), and for a partner whose
// scope matches one change in a thousand, from the start (the stream skips
// the others by subject).
func BenchmarkListChanges(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("VERKOSTO_BENCH_1M") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	admin := auth.WithPrincipal(ctx, &auth.Principal{CredentialID: "bench", Bindings: []auth.Binding{{Role: auth.RoleAdmin}}})
	partner := auth.WithPrincipal(ctx, &auth.Principal{CredentialID: "bench", Bindings: []auth.Binding{{Role: auth.RolePartner, Region: "lappi", Programme: "lape"}}})
	for _, n := range sizes {
		b.Run(fmt.Sprintf("changes=%d", n), func(b *testing.B) {
			s := changes.NewService(feedStream(b, n))
			for _, tc := range []struct {
				name   string
				as     context.Context
				cursor string
				want   int
			}{
				{"start", admin, "", 100},
				{"middle", admin, cursor.Encode(uint64(n / 2)), 100},
				{"tail", admin, cursor.Encode(uint64(n - 100)), 100},
				{"sparse-partner", partner, "", min(100, n/1000)},
			} {
				b.Run(tc.name, func(b *testing.B) {
					for b.Loop() {
						res, err := s.ListChanges(tc.as, &changesv1.ListChangesRequest{Cursor: tc.cursor, PageSize: 100})
						if err != nil {
							b.Fatal(err)
						}
						if len(res.GetChanges()) != tc.want {
							b.Fatalf("%d changes", len(res.GetChanges()))
						}
					}
				})
			}
		})
	}
}
