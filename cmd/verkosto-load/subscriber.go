package main

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	"github.com/verkosto/verkosto/internal/outbox"
)

// subscribe receives every new change on the server's NATS and records its
// arrival in c: through an ephemeral ordered consumer of the changes stream
// (what a partner sees: the change is stored), or a core subscription
// (the change is published). stop ends it.
func subscribe(ctx context.Context, url, how string, c *commitLatency) (stop func(), err error) {
	nc, err := nats.Connect(url, nats.Name("verkosto-load"))
	if err != nil {
		return nil, fmt.Errorf("connect NATS %s: %w", url, err)
	}
	handle := func(data []byte) {
		at := time.Now()
		var ch changesv1.Change
		if proto.Unmarshal(data, &ch) != nil {
			return
		}
		c.arrive(changeKey(ch.GetAggregateId(), ch.GetAggregateVersion()), at)
	}
	switch how {
	case "core":
		sub, err := nc.Subscribe(outbox.SubjectPrefix+".>", func(m *nats.Msg) { handle(m.Data) })
		if err != nil {
			nc.Close()
			return nil, err
		}
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			nc.Close()
			return nil, err
		}
		return func() { sub.Unsubscribe(); nc.Close() }, nil //nolint:errcheck
	case "ordered":
		js, err := jetstream.New(nc)
		if err != nil {
			nc.Close()
			return nil, err
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		stream, err := js.Stream(sctx, outbox.StreamName)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("stream %s (is the server's relay running?): %w", outbox.StreamName, err)
		}
		cons, err := stream.OrderedConsumer(sctx, jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{outbox.SubjectPrefix + ".>"}, DeliverPolicy: jetstream.DeliverNewPolicy})
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("ordered consumer: %w", err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) { handle(m.Data()) })
		if err != nil {
			nc.Close()
			return nil, err
		}
		return func() { cc.Stop(); nc.Close() }, nil
	}
	nc.Close()
	return nil, fmt.Errorf("--sub %q: want ordered or core", how)
}
