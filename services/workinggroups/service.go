package workinggroups

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1/workinggroupsv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/reqid"
)

// Service implements verkosto.workinggroups.v1.WorkingGroupsService.
type Service struct {
	workinggroupsv1connect.UnimplementedWorkingGroupsServiceHandler
	pool   *pgxpool.Pool
	now    func() time.Time
	outbox *outbox.Outbox
}

// kind is the resource kind of every change of this service:
// verkosto.changes.<region>.<programme>.working_group.<change>.
const kind = "working_group"

// caller returns the authenticated principal; the auth interceptor guarantees
// one (the nominations consumer runs as auth.System).
func caller(ctx context.Context) *auth.Principal {
	if p := auth.FromContext(ctx); p != nil {
		return p
	}
	return &auth.Principal{}
}

func deny(format string, args ...any) error {
	return apierr.PermissionDenied(fmt.Sprintf(format, args...))
}

// canManage: the coordinator of the region × programme, or an admin, creates,
// changes and closes its working groups and manages their members and seats.
func canManage(p *auth.Principal, region, programme string) bool {
	return p.Coordinates(region, programme)
}

func denyManage(region, programme string) error {
	return deny("only the coordinator of %s × %s or an admin may manage its working groups", region, programme)
}

// canRead: people who take part in the networks (admins, coordinators,
// leaders, association contacts) read every working group; a partner reads
// the regions and programmes its credential lists.
func canRead(p *auth.Principal, region, programme string) bool {
	return p.Member() || p.PartnerReads(region, programme)
}

func denyRead(region, programme string) error {
	return deny("your credential does not cover %s × %s", region, programme)
}

// write runs fn in one transaction and appends the changes it returns to the
// outbox in the same transaction: state and its changes commit together. A
// transaction PostgreSQL aborted as a deadlock victim (rare: a close and a
// re-parent crossing in one tree) is run again.
func (s *Service) write(ctx context.Context, fn func(tx pgx.Tx) ([]outbox.Event, error)) error {
	actor := caller(ctx).Actor()
	var err error
	for attempt := 1; ; attempt++ {
		err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
			events, err := fn(tx)
			if err != nil {
				return err
			}
			for _, ev := range events {
				if _, err := s.outbox.Append(ctx, tx, actor, ev); err != nil {
					return err
				}
			}
			return nil
		})
		var pgErr *pgconn.PgError
		if attempt < 3 && errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		return err
	}
}

// create is write for a create carrying a request_id: a retry returns the
// first call's resource id without writing again.
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

func versionOf(etag string) int64 {
	v, _ := strconv.ParseInt(etag, 10, 64)
	return v
}

// checkEtag fails ABORTED when the caller sent an etag that is not current.
func checkEtag(kind, id, got, current string) error {
	if got != "" && got != current {
		return apierr.StaleEtag(kind, id, got, current)
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
func partnerScope(p *auth.Principal) (regions, programmes []string) {
	if p.Member() {
		return nil, nil
	}
	regions, programmes = []string{}, []string{}
	for _, b := range p.Bindings {
		if b.Role == auth.RolePartner {
			regions = append(regions, b.Region)
			programmes = append(programmes, b.Programme)
		}
	}
	return regions, programmes
}

// scopeSQL is the SQL condition matching a working group alias g against a
// partner scope passed as two text[] parameters.
func scopeSQL(g string, regionsParam, programmesParam int) string {
	return fmt.Sprintf(`($%d::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($%d::text[], $%d::text[]) AS s(r, p)
		WHERE (s.r = '' OR s.r = %s.region) AND (s.p = '' OR s.p = %s.programme)))`,
		regionsParam, regionsParam, programmesParam, g, g)
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

func allPaths(paths []string) map[string]bool {
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		set[p] = true
	}
	return set
}

func optionalTime(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

// nullable turns "" into SQL NULL.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
