package changes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	"github.com/verkosto/verkosto/gen/verkosto/changes/v1/changesv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/cursor"
	"github.com/verkosto/verkosto/internal/outbox"
)

const (
	defaultPageSize = 100
	maxPageSize     = 1000
	// HeartbeatInterval is how often an idle watch says it is alive.
	HeartbeatInterval = 15 * time.Second
)

// Service implements verkosto.changes.v1.ChangeFeedService.
type Service struct {
	changesv1connect.UnimplementedChangeFeedServiceHandler
	js     jetstream.JetStream
	logger *slog.Logger
}

// CursorExpired is the distinct error of a cursor older than the stream's
// retention (or from another stream): like Kubernetes' 410 Gone, the client
// must list the resources again and watch from the cursor that list returns.
func CursorExpired(message string) error {
	return apierr.FailedPrecondition("CURSOR_EXPIRED", message+": list the resources again and watch from the cursor the list returns")
}

// open checks the cursor against the stream and returns the configuration of
// a consumer after it. startNew starts at the next change when there is no
// cursor.
func (s *Service) open(ctx context.Context, after uint64, p *plan, startNew bool) (jetstream.Stream, jetstream.OrderedConsumerConfig, error) {
	var cfg jetstream.OrderedConsumerConfig
	stream, err := s.js.Stream(ctx, outbox.StreamName)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if after > 0 {
			return nil, cfg, CursorExpired("the change stream was reset")
		}
		return nil, cfg, apierr.Unavailable("no change has been published yet; retry")
	}
	if err != nil {
		return nil, cfg, apierr.Unavailable("the change stream is not reachable; retry")
	}
	// Stream looked the stream up just now: its state is fresh.
	info := stream.CachedInfo()
	first, last := info.State.FirstSeq, info.State.LastSeq
	if after > last {
		return nil, cfg, CursorExpired(fmt.Sprintf("cursor is ahead of the change stream (at %d)", last))
	}
	if after > 0 && after+1 < first {
		return nil, cfg, CursorExpired("cursor is older than the changes kept")
	}
	cfg.FilterSubjects = p.subjects
	switch {
	case after > 0:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = after + 1
	case startNew:
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = last + 1
	default:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	}
	return stream, cfg, nil
}

func record(msg jetstream.Msg) (*changesv1.ChangeRecord, uint64, error) {
	meta, err := msg.Metadata()
	if err != nil {
		return nil, 0, err
	}
	var c changesv1.Change
	if err := proto.Unmarshal(msg.Data(), &c); err != nil {
		return nil, 0, fmt.Errorf("change at %d: %w", meta.Sequence.Stream, err)
	}
	return &changesv1.ChangeRecord{Cursor: cursor.Encode(meta.Sequence.Stream), Change: &c}, meta.Sequence.Stream, nil
}

// ListChanges returns up to page_size changes after the cursor.
func (s *Service) ListChanges(ctx context.Context, req *changesv1.ListChangesRequest) (*changesv1.ListChangesResponse, error) {
	after, err := cursor.Decode("cursor", req.GetCursor())
	if err != nil {
		return nil, err
	}
	size := int(req.GetPageSize())
	switch {
	case size < 0:
		return nil, apierr.InvalidArgument("page_size", "must not be negative")
	case size == 0:
		size = defaultPageSize
	case size > maxPageSize:
		size = maxPageSize
	}
	p, err := newPlan(auth.Caller(ctx), req.GetFilter())
	if err != nil {
		return nil, err
	}
	stream, cfg, err := s.open(ctx, after, p, false)
	if err != nil {
		return nil, err
	}
	// One plain consumer for the page, deleted after it: an ordered consumer
	// would be recreated on every fetch and the last one left behind, and
	// leftovers soon reach JetStream's consumer limit.
	cons, err := stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		FilterSubjects: cfg.FilterSubjects, DeliverPolicy: cfg.DeliverPolicy, OptStartSeq: cfg.OptStartSeq,
		AckPolicy: jetstream.AckNonePolicy, MemoryStorage: true, InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, apierr.Unavailable("cannot read the change stream now; retry")
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := stream.DeleteConsumer(dctx, cons.CachedInfo().Name); err != nil {
			s.logger.Warn("delete change feed consumer; it expires in a minute", "err", err)
		}
	}()
	res := &changesv1.ListChangesResponse{NextCursor: req.GetCursor()}
	for len(res.Changes) < size {
		batch, err := cons.FetchNoWait(size - len(res.Changes))
		if err != nil {
			return nil, apierr.Unavailable("cannot read the change stream now; retry")
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			rec, _, err := record(msg)
			if err != nil {
				return nil, err
			}
			res.NextCursor = rec.GetCursor()
			if p.match(rec.GetChange()) {
				res.Changes = append(res.Changes, rec)
			}
		}
		if batch.Error() != nil && !errors.Is(batch.Error(), jetstream.ErrNoMessages) {
			return nil, apierr.Unavailable("cannot read the change stream now; retry")
		}
		if n == 0 {
			break
		}
	}
	return res, nil
}

// WatchChanges streams changes after the cursor until the client goes away.
func (s *Service) WatchChanges(ctx context.Context, req *changesv1.WatchChangesRequest, stream *connect.ServerStream[changesv1.WatchChangesResponse]) error {
	after, err := cursor.Decode("cursor", req.GetCursor())
	if err != nil {
		return err
	}
	p, err := newPlan(auth.Caller(ctx), req.GetFilter())
	if err != nil {
		return err
	}
	js, cfg, err := s.open(ctx, after, p, req.GetCursor() == "")
	if err != nil {
		return err
	}
	cons, err := js.OrderedConsumer(ctx, cfg)
	if err != nil {
		return apierr.Unavailable("cannot read the change stream now; retry")
	}
	msgs, err := cons.Messages()
	if err != nil {
		return apierr.Unavailable("cannot read the change stream now; retry")
	}
	defer msgs.Stop()
	go func() {
		<-ctx.Done()
		msgs.Stop()
	}()
	position := req.GetCursor()
	if position == "" {
		info, err := cons.Info(ctx)
		if err == nil && info.Config.OptStartSeq > 0 {
			position = cursor.Encode(info.Config.OptStartSeq - 1)
		}
	}
	next := make(chan jetstream.Msg)
	errc := make(chan error, 1)
	go func() {
		for {
			msg, err := msgs.Next()
			if err != nil {
				errc <- err
				return
			}
			select {
			case next <- msg:
			case <-ctx.Done():
				return
			}
		}
	}()
	// A first heartbeat tells the client the watch is open and where it starts.
	if err := stream.Send(&changesv1.WatchChangesResponse{Event: &changesv1.WatchChangesResponse_Heartbeat{
		Heartbeat: &changesv1.Heartbeat{Cursor: position}}}); err != nil {
		return nil
	}
	heartbeat := time.NewTicker(HeartbeatInterval)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return apierr.Unavailable("the change stream went away; resume from your last cursor")
		case <-heartbeat.C:
			if err := stream.Send(&changesv1.WatchChangesResponse{Event: &changesv1.WatchChangesResponse_Heartbeat{
				Heartbeat: &changesv1.Heartbeat{Cursor: position}}}); err != nil {
				return nil
			}
		case msg := <-next:
			rec, _, err := record(msg)
			if err != nil {
				return err
			}
			position = rec.GetCursor()
			if !p.match(rec.GetChange()) {
				continue
			}
			if err := stream.Send(&changesv1.WatchChangesResponse{Event: &changesv1.WatchChangesResponse_Change{Change: rec}}); err != nil {
				return nil
			}
			heartbeat.Reset(HeartbeatInterval)
		}
	}
}
