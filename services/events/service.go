package events

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/writer"
)

// Service implements verkosto.events.v1.EventsService.
type Service struct {
	eventsv1connect.UnimplementedEventsServiceHandler
	pool *pgxpool.Pool
	now  func() time.Time
	w    *writer.Writer
}

// anonymous reports a call without a credential (public procedures only).
func anonymous(ctx context.Context) bool { return auth.FromContext(ctx) == nil }
