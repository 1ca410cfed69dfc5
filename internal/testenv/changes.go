package testenv

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	"github.com/verkosto/verkosto/internal/outbox"
)

// Changes collects every change on the changes stream through a durable
// consumer, as a partner would, for tests to assert on.
type Changes struct {
	t    testing.TB
	mu   sync.Mutex
	list []Received
	cond chan struct{}
}

// Received is a change with its subject and message id.
type Received struct {
	Subject string
	MsgID   string
	Change  *changesv1.Change
}

// WatchChanges starts consuming the changes stream (creating it if needed).
func (e *Env) WatchChanges() *Changes {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := outbox.EnsureStream(ctx, e.JS, outbox.StreamConfig(1, 0)); err != nil {
		e.t.Fatalf("changes stream: %v", err)
	}
	stream, err := e.JS.Stream(ctx, outbox.StreamName)
	if err != nil {
		e.t.Fatalf("changes stream: %v", err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: "test-watch", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		e.t.Fatalf("consumer: %v", err)
	}
	c := &Changes{t: e.t, cond: make(chan struct{}, 1)}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		var ch changesv1.Change
		if err := proto.Unmarshal(msg.Data(), &ch); err != nil {
			c.t.Errorf("change on %s is not a Change: %v", msg.Subject(), err)
		}
		c.mu.Lock()
		c.list = append(c.list, Received{Subject: msg.Subject(), MsgID: msg.Headers().Get(jetstream.MsgIDHeader), Change: &ch})
		c.mu.Unlock()
		msg.Ack() //nolint:errcheck
		select {
		case c.cond <- struct{}{}:
		default:
		}
	})
	if err != nil {
		e.t.Fatalf("consume: %v", err)
	}
	e.t.Cleanup(cc.Stop)
	return c
}

// All returns what arrived so far.
func (c *Changes) All() []Received {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Received(nil), c.list...)
}

// WaitFor waits until a change on subject arrived and returns the first one.
func (c *Changes) WaitFor(subject string) Received {
	c.t.Helper()
	var found Received
	c.Wait(func(list []Received) bool {
		for _, r := range list {
			if r.Subject == subject {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

// Wait waits up to 15 s until cond holds for the changes received.
func (c *Changes) Wait(cond func([]Received) bool) {
	c.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		if cond(c.All()) {
			return
		}
		select {
		case <-c.cond:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			var subjects []string
			for _, r := range c.All() {
				subjects = append(subjects, r.Subject)
			}
			c.t.Fatalf("timed out waiting for changes; received %d: %v", len(subjects), subjects)
		}
	}
}
