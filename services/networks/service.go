package networks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/reqid"
)

// Service implements verkosto.networks.v1.NetworksService.
type Service struct {
	networksv1connect.UnimplementedNetworksServiceHandler
	pool   *pgxpool.Pool
	now    func() time.Time
	outbox *outbox.Outbox
	// wake tells the relay that changes committed.
	wake func()
}

// caller returns the authenticated principal; the auth interceptor guarantees one.
func caller(ctx context.Context) *auth.Principal {
	if p := auth.FromContext(ctx); p != nil {
		return p
	}
	return &auth.Principal{}
}

func deny(format string, args ...any) error {
	return apierr.PermissionDenied(fmt.Sprintf(format, args...))
}

// write runs fn in one transaction and appends the changes it returns to the
// outbox in the same transaction: state and its changes commit together.
func (s *Service) write(ctx context.Context, fn func(tx pgx.Tx) ([]outbox.Event, error)) error {
	actor := caller(ctx).Actor()
	appended := false
	err := db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		events, err := fn(tx)
		if err != nil {
			return err
		}
		for _, ev := range events {
			if _, err := s.outbox.Append(ctx, tx, actor, ev); err != nil {
				return err
			}
		}
		appended = len(events) > 0
		return nil
	})
	if err == nil && appended {
		s.wake()
	}
	return err
}

// create is write for a create carrying a request_id: a retry returns the
// first call's resource id, and existing=true tells the caller to read it
// instead of creating.
func (s *Service) create(ctx context.Context, procedure, requestID string, hash []byte, newID string,
	fn func(tx pgx.Tx, id string) ([]outbox.Event, error)) (id string, err error) {
	id = newID
	err = s.write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		existing, claimed, err := reqid.Claim(ctx, tx, reqid.Key{
			Schema: Schema, Principal: caller(ctx).CredentialID, Procedure: procedure, RequestID: requestID,
		}, hash, newID)
		if err != nil {
			return nil, err
		}
		if !claimed {
			id = existing
			return nil, nil
		}
		return fn(tx, newID)
	})
	return id, err
}

func etag(version int64) string { return strconv.FormatInt(version, 10) }

// checkEtag fails ABORTED when the caller sent an etag that is not current.
func checkEtag(kind, id, got string, version int64) error {
	if got != "" && got != etag(version) {
		return apierr.StaleEtag(kind, id, got, etag(version))
	}
	return nil
}

// notFound maps a missing row to NOT_FOUND.
func notFound(err error, kind, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return apierr.NotFound(kind, id)
	}
	return err
}

// partnerScope turns a partner's bindings into parallel arrays of region and
// programme ("" = any) for SQL; nil when the principal reads everything.
func partnerScope(p *auth.Principal) (regions, programmes []string, limited bool) {
	if p.Member() {
		return nil, nil, false
	}
	for _, b := range p.Bindings {
		if b.Role == auth.RolePartner {
			regions = append(regions, b.Region)
			programmes = append(programmes, b.Programme)
		}
	}
	return regions, programmes, true
}

// scopeSQL is the SQL condition matching a network alias n against a partner
// scope passed as two text[] parameters.
func scopeSQL(n string, regionsParam, programmesParam int) string {
	return fmt.Sprintf(`($%d::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($%d::text[], $%d::text[]) AS s(r, p)
		WHERE (s.r = '' OR s.r = %s.region) AND (s.p = '' OR s.p = %s.programme)))`,
		regionsParam, regionsParam, programmesParam, n, n)
}

// canReadNetwork: people taking part in networks read every network; a
// partner reads the regions and programmes its credential lists.
func canReadNetwork(p *auth.Principal, region, programme string) bool {
	return p.Member() || p.PartnerReads(region, programme)
}

// snapshotList: see outbox.ListCursor.
func (s *Service) snapshotList(ctx context.Context, firstPage bool, read func(q db.DBTX) error) (string, error) {
	return outbox.ListCursor(ctx, s.pool, Schema, firstPage, read)
}

func checkEtagString(kind, id, got, current string) error {
	if got != "" && got != current {
		return apierr.StaleEtag(kind, id, got, current)
	}
	return nil
}

// maskPaths validates an update mask against the paths a caller may set;
// anything else (ids, states, server-owned fields) is refused, never ignored.
func maskPaths(paths []string, allowed []string) (map[string]bool, error) {
	if len(paths) == 0 {
		return nil, apierr.InvalidArgument("update_mask", "is required: list the fields to change ("+strings.Join(allowed, ", ")+")")
	}
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		if !slices.Contains(allowed, p) {
			return nil, apierr.InvalidArgument("update_mask", fmt.Sprintf("path %q cannot be changed (changeable: %s)", p, strings.Join(allowed, ", ")))
		}
		set[p] = true
	}
	return set, nil
}
