// Package consume applies changes of other services from the changes stream
// to a service, exactly once: through a durable JetStream consumer (changes
// published while the service was down wait for it), each change applied in
// one transaction together with its id in the service's processed_changes,
// and acknowledged after the commit, so a redelivered change does nothing.
package consume

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/writer"
)

// Migration creates the processed change ids of one service schema.
const Migration = `
CREATE TABLE processed_changes (
	change_id    text PRIMARY KEY,
	subject      text NOT NULL,
	processed_at timestamptz NOT NULL DEFAULT now()
);
`

// Apply applies one change inside the transaction that records it; the
// changes it returns are published through the service's outbox.
type Apply func(ctx context.Context, tx pgx.Tx, subject string, ch *changesv1.Change) ([]outbox.Event, error)

// Consumer is one durable consumer of a service.
type Consumer struct {
	JS     jetstream.JetStream
	Writer *writer.Writer
	Schema string
	Logger *slog.Logger
	// Name of the durable consumer, e.g. "workinggroups-nominations".
	Name        string
	Description string
	// Subjects the consumer applies, e.g. "verkosto.changes.*.*.nomination.confirmed".
	Subjects []string
	Apply    Apply
}

// Run consumes until ctx ends; an error returns to the app, which restarts
// it. One change is in flight at a time, so changes apply in stream order.
func (c *Consumer) Run(ctx context.Context) error {
	cons, err := c.consumer(ctx)
	if err != nil {
		return err
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(16, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch changes for %s: %w", c.Name, err)
		}
		for msg := range batch.Messages() {
			c.handle(ctx, msg)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch changes for %s: %w", c.Name, err)
		}
	}
	return nil
}

// consumer makes sure the stream and the durable consumer exist, retrying:
// the service may start before NATS is reachable or any relay created the
// stream.
func (c *Consumer) consumer(ctx context.Context) (jetstream.Consumer, error) {
	backoff := 100 * time.Millisecond
	for {
		cons, err := c.ensure(ctx)
		if err == nil {
			return cons, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c.Logger.Warn("consumer not ready; will retry", "consumer", c.Name, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (c *Consumer) ensure(ctx context.Context) (jetstream.Consumer, error) {
	stream, err := c.JS.Stream(ctx, outbox.StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		// Created as the relays create it; an existing stream is left as it
		// is, so the replicas and retention the relays set stay.
		stream, err = c.JS.CreateStream(ctx, outbox.StreamConfig(1, 0))
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			stream, err = c.JS.Stream(ctx, outbox.StreamName)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("changes stream: %w", err)
	}
	cons, err := stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:        c.Name,
		Description:    c.Description,
		AckPolicy:      jetstream.AckExplicitPolicy,
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		FilterSubjects: c.Subjects,
		AckWait:        30 * time.Second,
		MaxAckPending:  1,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s: %w", c.Name, err)
	}
	return cons, nil
}

// handle applies one message and acknowledges it after the commit. A
// message that is not a Change is terminated (never redelivered); a failure
// to apply is negatively acknowledged and retried.
func (c *Consumer) handle(ctx context.Context, msg jetstream.Msg) {
	var ch changesv1.Change
	if err := proto.Unmarshal(msg.Data(), &ch); err != nil {
		c.Logger.Error("dropping a message that is not a Change", "consumer", c.Name, "subject", msg.Subject(), "err", err)
		msg.TermWithReason("not a verkosto.changes.v1.Change") //nolint:errcheck
		return
	}
	changeID := ch.GetId()
	if changeID == "" {
		changeID = msg.Headers().Get(jetstream.MsgIDHeader)
	}
	if changeID == "" {
		if meta, err := msg.Metadata(); err == nil {
			changeID = fmt.Sprintf("stream-seq:%d", meta.Sequence.Stream)
		}
	}
	if err := c.apply(ctx, changeID, msg.Subject(), &ch); err != nil {
		if ctx.Err() != nil {
			return // redelivered after AckWait, to this or another replica
		}
		c.Logger.Warn("applying a change failed; it will be redelivered", "consumer", c.Name, "subject", msg.Subject(), "change", changeID, "err", err)
		msg.NakWithDelay(time.Second) //nolint:errcheck
		return
	}
	if err := msg.DoubleAck(ctx); err != nil {
		// The change is applied; a redelivery finds it in processed_changes.
		c.Logger.Warn("ack of an applied change failed", "consumer", c.Name, "change", changeID, "err", err)
	}
}

// apply applies one change exactly once, as the system principal.
func (c *Consumer) apply(ctx context.Context, changeID, subject string, ch *changesv1.Change) error {
	ctx = auth.WithPrincipal(ctx, auth.System)
	table := pgx.Identifier{c.Schema, "processed_changes"}.Sanitize()
	return c.Writer.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		tag, err := tx.Exec(ctx, `INSERT INTO `+table+` (change_id, subject) VALUES ($1, $2) ON CONFLICT DO NOTHING`, changeID, subject)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, nil // applied before: a redelivery
		}
		return c.Apply(ctx, tx, subject, ch)
	})
}
