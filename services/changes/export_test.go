package changes

import (
	"log/slog"

	"github.com/nats-io/nats.go/jetstream"
)

// NewService builds the feed on js without the HTTP stack, for benchmarks.
func NewService(js jetstream.JetStream) *Service {
	return &Service{js: js, logger: slog.Default()}
}
