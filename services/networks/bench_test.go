package networks_test

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/testenv"
)

func benchClient(b *testing.B, e *testenv.Env) networksv1connect.NetworksServiceClient {
	return networksv1connect.NewNetworksServiceClient(e.HTTPClient(), e.URL, connect.WithInterceptors(auth.BearerToken(e.Admin())))
}

// BenchmarkReadRPC: GetNetwork end to end (HTTP, auth, one query).
func BenchmarkReadRPC(b *testing.B) {
	e := testenv.New(b, modules())
	c := benchClient(b, e)
	n, err := c.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: region, Programme: "lape"}})
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetNetwork(ctx, &networksv1.GetNetworkRequest{Id: n.GetNetwork().GetId()}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkWriteRPC: CreateAssociation end to end: HTTP, auth, validation,
// one transaction with the row and its outbox change, relay to JetStream.
func BenchmarkWriteRPC(b *testing.B) {
	e := testenv.New(b, modules())
	c := benchClient(b, e)
	var i atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{
				Name: &commonv1.LocalizedText{Fi: fmt.Sprint("Yhdistys ", i.Add(1))}}}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkCommitToSubscriber: writes at full speed from 16 clients while a
// durable consumer receives their changes; reports the latency from the
// write's commit (the RPC's answer) to the subscriber, and changes per second.
func BenchmarkCommitToSubscriber(b *testing.B) {
	e := testenv.New(b, modules())
	c := benchClient(b, e)
	if _, err := c.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: region, Programme: "lape"}}); err != nil {
		b.Fatal(err)
	}
	stream, err := e.JS.CreateOrUpdateStream(ctx, outbox.StreamConfig(1, 0))
	if err != nil {
		b.Fatal(err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "bench", AckPolicy: jetstream.AckNonePolicy,
		DeliverPolicy: jetstream.DeliverNewPolicy, FilterSubject: "verkosto.changes._._.association.created"})
	if err != nil {
		b.Fatal(err)
	}
	var (
		committed sync.Map // association id -> commit time
		mu        sync.Mutex
		latencies []time.Duration
		received  = make(chan struct{}, 1<<20)
	)
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		at := time.Now()
		var ch changesv1.Change
		if proto.Unmarshal(msg.Data(), &ch) != nil {
			return
		}
		// The RPC may answer a moment after the change arrives; wait for it.
		for range 1000 {
			if t, ok := committed.Load(ch.GetAggregateId()); ok {
				mu.Lock()
				latencies = append(latencies, max(at.Sub(t.(time.Time)), 0))
				mu.Unlock()
				break
			}
			time.Sleep(time.Millisecond)
		}
		received <- struct{}{}
	})
	if err != nil {
		b.Fatal(err)
	}
	defer cc.Stop()
	var i atomic.Int64
	start := time.Now()
	b.SetParallelism(8) // 16 writers on 2 cores
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := c.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{
				Name: &commonv1.LocalizedText{Fi: fmt.Sprint("Yhdistys ", i.Add(1))}}})
			if err != nil {
				b.Error(err)
				return
			}
			committed.Store(res.GetAssociation().GetId(), time.Now())
		}
	})
	for range b.N {
		select {
		case <-received:
		case <-time.After(30 * time.Second):
			b.Fatal("changes did not reach the subscriber")
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	if len(latencies) == 0 {
		return
	}
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[min(len(latencies)-1, int(p*float64(len(latencies))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "changes/s")
}

// BenchmarkListUnderWrites: the first page of ListAssociations (which waits
// until the relay has published the changes its snapshot saw, for its change
// cursor) while 8 callers create associations without pause.
func BenchmarkListUnderWrites(b *testing.B) {
	e := testenv.New(b, modules())
	c := benchClient(b, e)
	if _, err := c.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{
		Name: &commonv1.LocalizedText{Fi: "Ensimmäinen"}}}); err != nil {
		b.Fatal(err)
	}
	wctx, stop := contextWithCancel()
	var wg sync.WaitGroup
	var i atomic.Int64
	for range 8 {
		wg.Go(func() {
			for wctx.Err() == nil {
				c.CreateAssociation(wctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{ //nolint:errcheck
					Name: &commonv1.LocalizedText{Fi: fmt.Sprint("Yhdistys ", i.Add(1))}}})
			}
		})
	}
	var lat []time.Duration
	noCursor := 0
	for b.Loop() {
		start := time.Now()
		res, err := c.ListAssociations(ctx, &networksv1.ListAssociationsRequest{PageSize: 50})
		if err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		if res.GetChangeCursor() == "" {
			noCursor++
		}
	}
	b.StopTimer()
	stop()
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(i.Load())/b.Elapsed().Seconds(), "writes/s")
	b.ReportMetric(float64(noCursor), "without-cursor")
}
