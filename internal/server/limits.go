package server

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"connectrpc.com/connect"
	"golang.org/x/time/rate"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
)

// Limits bound what one caller can ask of the server.
type Limits struct {
	// PerSecond and Burst are each credential's token bucket (anonymous
	// callers: each client address's). Zero PerSecond disables the limit.
	PerSecond float64
	Burst     int
	// UnaryTimeout is the longest a unary call may run; a client's shorter
	// deadline wins. Streams (change watches) have none.
	UnaryTimeout time.Duration
}

// DefaultLimits suit a deployment whose partners poll and write in bursts.
var DefaultLimits = Limits{PerSecond: 100, Burst: 200, UnaryTimeout: 30 * time.Second}

// limiter is the interceptor enforcing Limits; it runs after authentication.
type limiter struct {
	limits  Limits
	mu      sync.Mutex
	buckets map[string]*bucket
	calls   int
}

type bucket struct {
	*rate.Limiter
	used time.Time
}

func newLimiter(l Limits) *limiter { return &limiter{limits: l, buckets: map[string]*bucket{}} }

// allow takes a token of key's bucket, or says how long to wait for one.
func (l *limiter) allow(key string, now time.Time) (time.Duration, bool) {
	if l.limits.PerSecond <= 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if l.calls%4096 == 0 {
		for k, b := range l.buckets {
			if now.Sub(b.used) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{Limiter: rate.NewLimiter(rate.Limit(l.limits.PerSecond), l.limits.Burst)}
		l.buckets[key] = b
	}
	b.used = now
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

func (l *limiter) check(ctx context.Context, peer string) error {
	key := auth.Caller(ctx).CredentialID
	if key == "" {
		host, _, err := net.SplitHostPort(peer)
		if err != nil {
			host = peer
		}
		key = "addr:" + host
	}
	wait, ok := l.allow(key, time.Now())
	if ok {
		return nil
	}
	err := connect.NewError(connect.CodeResourceExhausted,
		fmt.Errorf("rate limit of %.0f calls per second exceeded; retry in %s", l.limits.PerSecond, wait.Round(time.Millisecond)))
	if d, e := connect.NewErrorDetail(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)}); e == nil {
		err.AddDetail(d)
	}
	if d, e := connect.NewErrorDetail(&errdetails.ErrorInfo{Reason: "RATE_LIMITED", Domain: apierr.Domain}); e == nil {
		err.AddDetail(d)
	}
	err.Meta().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
	return err
}

func (l *limiter) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if err := l.check(ctx, req.Peer().Addr); err != nil {
			return nil, err
		}
		// The deadline reaches the database: pgx cancels a query whose
		// context ends, so a call that times out stops its work.
		if l.limits.UnaryTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, l.limits.UnaryTimeout)
			defer cancel()
		}
		return next(ctx, req)
	}
}

func (l *limiter) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (l *limiter) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := l.check(ctx, conn.Peer().Addr); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}
