package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"connectrpc.com/connect"

	"github.com/verkosto/verkosto/internal/apierr"
)

// observe logs and measures each call, and turns errors no handler mapped
// into codes a caller can act on: a cancelled or timed-out call keeps its
// code; anything else unexpected is INTERNAL with the cause logged, never sent.
func observe(logger *slog.Logger, m *Metrics) connect.Interceptor {
	return &observer{logger: logger, metrics: m}
}

type observer struct {
	logger  *slog.Logger
	metrics *Metrics
}

func (o *observer) finish(ctx context.Context, procedure string, start time.Time, err error) error {
	err = o.classify(ctx, procedure, err)
	code := "ok"
	if err != nil {
		code = connect.CodeOf(err).String()
	}
	o.metrics.requests.WithLabelValues(procedure, code).Inc()
	o.metrics.duration.WithLabelValues(procedure).Observe(time.Since(start).Seconds())
	if o.logger.Enabled(ctx, slog.LevelDebug) {
		o.logger.DebugContext(ctx, "rpc", "procedure", procedure, "code", code, "duration", time.Since(start))
	}
	return err
}

func (o *observer) classify(ctx context.Context, procedure string, err error) error {
	if err == nil {
		return nil
	}
	if cause, ok := apierr.Hidden(err); ok {
		o.logger.ErrorContext(ctx, "internal error", "procedure", procedure, "err", cause)
		return err
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return connect.NewError(connect.CodeDeadlineExceeded, errors.New("deadline exceeded"))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("call cancelled"))
	}
	o.logger.ErrorContext(ctx, "internal error", "procedure", procedure, "err", err)
	return connect.NewError(connect.CodeInternal, errors.New("internal error"))
}

func (o *observer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		start := time.Now()
		res, err := next(ctx, req)
		return res, o.finish(ctx, req.Spec().Procedure, start, err)
	}
}

func (o *observer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (o *observer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		start := time.Now()
		return o.finish(ctx, conn.Spec().Procedure, start, next(ctx, conn))
	}
}
