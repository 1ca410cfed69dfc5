package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

// clientOptions reach a server: its URL, the credential and the codec.
type clientOptions struct {
	url   string
	token string
	json  bool
	conns int
}

func (o *clientOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the server")
	fs.StringVar(&o.token, "token", os.Getenv("VERKOSTO_TOKEN"), "bearer secret of an admin credential (env VERKOSTO_TOKEN)")
	fs.BoolVar(&o.json, "json", false, "Connect with JSON instead of protobuf")
	fs.IntVar(&o.conns, "conns", 256, "idle keep-alive connections kept per host")
}

// httpClient speaks HTTP/1.1 with keep-alive and many idle connections, as
// a fleet of partner systems and browsers would.
func (o *clientOptions) httpClient() *http.Client {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	return &http.Client{Transport: &http.Transport{
		Protocols:           &protocols,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        o.conns,
		MaxIdleConnsPerHost: o.conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

func (o *clientOptions) connectOptions() []connect.ClientOption {
	var opts []connect.ClientOption
	if o.token != "" {
		opts = append(opts, connect.WithInterceptors(auth.BearerToken(o.token)))
	}
	if o.json {
		opts = append(opts, connect.WithProtoJSON())
	}
	return opts
}

func (o *clientOptions) networks() (networksv1connect.NetworksServiceClient, error) {
	if o.token == "" {
		return nil, errors.New("--token is required: an admin credential (verkosto token create --name load --role admin)")
	}
	return networksv1connect.NewNetworksServiceClient(o.httpClient(), o.url, o.connectOptions()...), nil
}

// mix is the share of each operation, in percent.
type mix struct{ read, write, echo int }

func parseMix(s string) (mix, error) {
	var m mix
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return m, fmt.Errorf("--mix %q: want name=percent,... (read, write, echo)", s)
		}
		switch k {
		case "read":
			m.read = n
		case "write":
			m.write = n
		case "echo":
			m.echo = n
		default:
			return m, fmt.Errorf("--mix: unknown operation %q (read, write, echo)", k)
		}
	}
	if m.read+m.write+m.echo == 0 {
		return m, fmt.Errorf("--mix %q: all shares are zero", s)
	}
	if m.echo > 0 && m.read+m.write > 0 {
		return m, errors.New("--mix: echo runs alone, against `verkosto-load echo`")
	}
	return m, nil
}

// Read RPCs and their shares of the reads: gets are more common than lists.
var readWeights = []struct {
	name   string
	weight int
}{
	{"GetNetwork", 25}, {"GetAssociation", 25}, {"ListMemberships", 20}, {"ListNetworks", 15}, {"ListAssociations", 15},
}

// load is one run.
type load struct {
	c        networksv1connect.NetworksServiceClient
	echo     *echoClient
	f        *fixture
	mix      mix
	commit   *commitLatency
	runID    string
	seq      atomic.Int64
	measured atomic.Bool // false during warm-up
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var o clientOptions
	o.flags(fs)
	duration := fs.Duration("duration", 30*time.Second, "how long to measure")
	warmup := fs.Duration("warmup", 3*time.Second, "load before measuring, not counted")
	concurrency := fs.Int("concurrency", 16, "concurrent callers")
	rate := fs.Float64("rate", 0, "operations per second in total (open loop); 0 = as fast as the callers go (closed loop)")
	mixFlag := fs.String("mix", "read=80,write=20", "share of operations in percent: read, write (create association + apply + approve), or echo alone")
	natsURL := fs.String("nats", "nats://127.0.0.1:4222", "the server's NATS, to time commit-to-subscriber; empty skips it")
	sub := fs.String("sub", "ordered", "how to subscribe to changes: ordered (an ephemeral JetStream ordered consumer) or core")
	regions := fs.String("regions", defaultRegions, "fixture regions, separated by commas")
	fs.Parse(args) //nolint:errcheck // ExitOnError
	m, err := parseMix(*mixFlag)
	if err != nil {
		return err
	}
	l := &load{mix: m, commit: newCommitLatency(), runID: strconv.FormatInt(time.Now().UnixNano()%1e9, 36)}
	hc := o.httpClient()
	if m.echo > 0 {
		l.echo = newEchoClient(hc, o.url, o.connectOptions()...)
	} else {
		if l.c, err = o.networks(); err != nil {
			return err
		}
		l.c = networksv1connect.NewNetworksServiceClient(hc, o.url, o.connectOptions()...)
		if l.f, err = prepare(ctx, l.c, strings.Split(*regions, ",")); err != nil {
			return err
		}
		fmt.Printf("fixture: %d networks in %s, %d associations\n", len(l.f.networks), *regions, len(l.f.associations))
	}
	if m.write > 0 && *natsURL != "" {
		stop, err := subscribe(ctx, *natsURL, *sub, l.commit)
		if err != nil {
			return err
		}
		defer stop()
	}

	mode := "closed loop"
	if *rate > 0 {
		mode = fmt.Sprintf("open loop at %.0f ops/s", *rate)
	}
	fmt.Printf("load: %s, mix %s, %d callers, %s, warm-up %s, measuring %s\n", o.url, *mixFlag, *concurrency, mode, *warmup, *duration)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	recs := make([]*recorder, *concurrency)
	for i := range recs {
		recs[i] = newRecorder()
	}
	var wg sync.WaitGroup
	var dropped atomic.Int64
	var jobs chan time.Time
	if *rate > 0 {
		jobs = make(chan time.Time, 1<<16)
		wg.Go(func() { l.schedule(rctx, *rate, jobs, &dropped) })
	}
	for i := range *concurrency {
		wg.Go(func() { l.worker(rctx, rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano()))), recs[i], jobs) })
	}
	if !sleep(ctx, *warmup) {
		return ctx.Err()
	}
	l.measured.Store(true)
	start := time.Now()
	sleep(ctx, *duration)
	l.measured.Store(false)
	elapsed := time.Since(start)
	cancel()
	wg.Wait()

	all := newRecorder()
	for _, r := range recs {
		all.merge(r)
	}
	var rows []summary
	total, errs := 0, 0
	for _, name := range sortedNames(all.lat, all.errors) {
		s := summarize(name, all.lat[name], all.errors[name], elapsed)
		rows = append(rows, s)
		errs += s.errors
		if !strings.HasPrefix(name, "op:") {
			total += s.count
		}
	}
	printTable(os.Stdout, rows)
	for name, msg := range all.firstErr {
		fmt.Printf("first error of %s: %s\n", name, msg)
	}
	reads := countPrefix(all, readWeights)
	writeRPCs := len(all.lat["CreateAssociation"]) + len(all.lat["ApplyMembership"]) + len(all.lat["ApproveMembership"])
	writeOps := len(all.lat["op:write"])
	secs := elapsed.Seconds()
	fmt.Printf("throughput: %.1f RPC/s in total; reads %.1f/s; writes %.1f ops/s = %.1f write RPC/s; echo %.1f/s\n",
		float64(total)/secs, float64(reads)/secs, float64(writeOps)/secs, float64(writeRPCs)/secs, float64(len(all.lat["Echo"]))/secs)
	if n := dropped.Load(); n > 0 {
		fmt.Printf("open loop: %d operations could not be queued (callers saturated)\n", n)
	}
	c2s := summary{}
	if m.write > 0 && *natsURL != "" {
		deadline := time.Now().Add(15 * time.Second)
		for l.commit.pending() > 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		l.commit.mu.Lock()
		c2s = summarize("commit-to-subscriber", l.commit.lat, 0, elapsed)
		missing, early, expected := len(l.commit.answered), l.commit.early, l.commit.expected
		l.commit.mu.Unlock()
		fmt.Printf("commit-to-subscriber (%s): %d of %d changes, p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max %.2f ms; %d missing after 15 s, %d arrived before their RPC answered\n",
			*sub, c2s.count, expected, ms(c2s.p50), ms(c2s.p95), ms(c2s.p99), ms(c2s.pMax), missing, early)
	}
	fmt.Printf("RESULT total_rps=%.1f read_rps=%.1f write_ops=%.1f write_rps=%.1f echo_rps=%.1f c2s_p50_ms=%.2f c2s_p95_ms=%.2f c2s_p99_ms=%.2f errors=%d\n",
		float64(total)/secs, float64(reads)/secs, float64(writeOps)/secs, float64(writeRPCs)/secs, float64(len(all.lat["Echo"]))/secs,
		ms(c2s.p50), ms(c2s.p95), ms(c2s.p99), errs)
	return nil
}

func countPrefix(r *recorder, names []struct {
	name   string
	weight int
}) int {
	n := 0
	for _, x := range names {
		n += len(r.lat[x.name])
	}
	return n
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// schedule hands out start times at rate per second (open loop): a slow
// server does not slow the arrivals, and an operation's latency counts from
// when it was due, queueing included.
func (l *load) schedule(ctx context.Context, rate float64, jobs chan<- time.Time, dropped *atomic.Int64) {
	defer close(jobs)
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for {
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			if !sleep(ctx, d) {
				return
			}
		} else if ctx.Err() != nil {
			return
		}
		select {
		case jobs <- next:
		default:
			dropped.Add(1)
		}
	}
}

// worker runs operations until ctx ends: back to back, or as jobs arrive.
func (l *load) worker(ctx context.Context, rng *rand.Rand, rec *recorder, jobs <-chan time.Time) {
	// In-flight calls finish after ctx ends, so the last answers are counted.
	callCtx := context.WithoutCancel(ctx)
	for ctx.Err() == nil {
		due := time.Now()
		if jobs != nil {
			var ok bool
			select {
			case due, ok = <-jobs:
				if !ok {
					return
				}
			case <-ctx.Done():
				return
			}
		}
		measured := l.measured.Load()
		target := rec
		if !measured {
			target = newRecorder() // warm-up: thrown away
		}
		l.op(callCtx, rng, target, due, measured)
	}
}

// op runs one operation chosen by the mix.
func (l *load) op(ctx context.Context, rng *rand.Rand, rec *recorder, due time.Time, measured bool) {
	n := rng.IntN(l.mix.read + l.mix.write + l.mix.echo)
	switch {
	case n < l.mix.echo:
		timed(rec, "Echo", func() error { return l.echo.call(ctx) })
	case n < l.mix.echo+l.mix.read:
		l.read(ctx, rng, rec)
	default:
		if err := l.write(ctx, rng, rec, measured); err != nil {
			rec.fail("op:write", err)
			return
		}
		rec.ok("op:write", time.Since(due))
	}
}

func timed(rec *recorder, name string, call func() error) error {
	start := time.Now()
	err := call()
	if err != nil {
		rec.fail(name, err)
		return err
	}
	rec.ok(name, time.Since(start))
	return nil
}

func (l *load) read(ctx context.Context, rng *rand.Rand, rec *recorder) {
	w := rng.IntN(100)
	name := readWeights[len(readWeights)-1].name
	for _, x := range readWeights {
		if w < x.weight {
			name = x.name
			break
		}
		w -= x.weight
	}
	network := l.f.networks[rng.IntN(len(l.f.networks))]
	var call func() error
	switch name {
	case "GetNetwork":
		call = func() error {
			_, err := l.c.GetNetwork(ctx, &networksv1.GetNetworkRequest{Id: network.GetId()})
			return err
		}
	case "GetAssociation":
		call = func() error {
			_, err := l.c.GetAssociation(ctx, &networksv1.GetAssociationRequest{Id: l.f.associations[rng.IntN(len(l.f.associations))]})
			return err
		}
	case "ListMemberships":
		call = func() error {
			_, err := l.c.ListMemberships(ctx, &networksv1.ListMembershipsRequest{NetworkId: network.GetId(), PageSize: 50})
			return err
		}
	case "ListNetworks":
		call = func() error {
			_, err := l.c.ListNetworks(ctx, &networksv1.ListNetworksRequest{Region: network.GetRegion()})
			return err
		}
	case "ListAssociations":
		call = func() error {
			_, err := l.c.ListAssociations(ctx, &networksv1.ListAssociationsRequest{PageSize: 50})
			return err
		}
	}
	timed(rec, name, call) //nolint:errcheck // recorded
}

// write is a membership approval as it happens: a coordinator registers an
// association, applies for it to a network, and approves the application.
func (l *load) write(ctx context.Context, rng *rand.Rand, rec *recorder, measured bool) error {
	network := l.f.networks[rng.IntN(len(l.f.networks))]
	n := l.seq.Add(1)
	var assoc *networksv1.Association
	if err := timed(rec, "CreateAssociation", func() error {
		res, err := l.c.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{
			Name:           &commonv1.LocalizedText{Fi: fmt.Sprintf("Kuormitus %s-%d ry", l.runID, n)},
			Municipalities: []string{"Kajaani"}, ContactEmail: "kuormitus@example.org"}})
		if err == nil {
			assoc = res.GetAssociation()
		}
		return err
	}); err != nil {
		return err
	}
	answered := time.Now()
	if measured {
		l.commit.answer(changeKey(assoc.GetId(), 1), answered)
	}
	var ms *networksv1.Membership
	if err := timed(rec, "ApplyMembership", func() error {
		res, err := l.c.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: network.GetId(), AssociationId: assoc.GetId()})
		if err == nil {
			ms = res.GetMembership()
		}
		return err
	}); err != nil {
		return err
	}
	if measured {
		l.commit.answer(changeKey(ms.GetId(), 1), time.Now())
	}
	if err := timed(rec, "ApproveMembership", func() error {
		_, err := l.c.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: ms.GetId()})
		return err
	}); err != nil {
		return err
	}
	if measured {
		l.commit.answer(changeKey(ms.GetId(), 2), time.Now())
	}
	return nil
}
