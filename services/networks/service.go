package networks

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/writer"
)

// Service implements verkosto.networks.v1.NetworksService.
type Service struct {
	networksv1connect.UnimplementedNetworksServiceHandler
	pool *pgxpool.Pool
	now  func() time.Time
	w    *writer.Writer
}

// canReadNetwork: people taking part in networks read every network; a
// partner reads the regions and programmes its credential lists.
func canReadNetwork(p *auth.Principal, region, programme string) bool {
	return p.Reads(region, programme)
}

// snapshotList: see outbox.ListCursor.
func (s *Service) snapshotList(ctx context.Context, firstPage bool, read func(q db.DBTX) error) (string, error) {
	return outbox.ListCursor(ctx, s.pool, Schema, firstPage, read)
}
