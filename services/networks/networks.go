package networks

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/etag"
	"github.com/verkosto/verkosto/internal/fieldmask"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/page"
	"github.com/verkosto/verkosto/internal/reqid"
)

// DefaultMaxLeaders is how many leaders a network has at most unless set.
const DefaultMaxLeaders = 2

const networkColumns = `n.id::text, n.region, n.programme, n.name_fi, n.name_sv, n.name_en,
	n.description_fi, n.description_sv, n.description_en, n.max_leaders, n.create_time, n.update_time, n.version,
	(SELECT count(*) FROM networks.memberships m WHERE m.network_id = n.id AND m.state = 'ACTIVE')`

func scanNetwork(r pgx.Row) (*networksv1.Network, error) {
	x := &networksv1.Network{Name: &commonv1.LocalizedText{}, Description: &commonv1.LocalizedText{}}
	var created, updated time.Time
	var version int64
	err := r.Scan(&x.Id, &x.Region, &x.Programme, &x.Name.Fi, &x.Name.Sv, &x.Name.En,
		&x.Description.Fi, &x.Description.Sv, &x.Description.En, &x.MaxLeaders, &created, &updated, &version, &x.ActiveMemberCount)
	if err != nil {
		return nil, err
	}
	x.CreateTime, x.UpdateTime, x.Etag = timestamppb.New(created), timestamppb.New(updated), etag.Of(version)
	return x, nil
}

func getNetwork(ctx context.Context, q db.DBTX, id string, lock bool) (*networksv1.Network, error) {
	sql := `SELECT ` + networkColumns + ` FROM networks.networks n WHERE n.id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	x, err := scanNetwork(q.QueryRow(ctx, sql, id))
	return x, apierr.IfNotFound(err, "network", id)
}

func networkEvent(name string, n *networksv1.Network) outbox.Event {
	v, _ := strconv.ParseInt(n.GetEtag(), 10, 64)
	return outbox.Event{Kind: "network", Name: name, AggregateID: n.GetId(), Version: v,
		Region: n.GetRegion(), Programme: n.GetProgramme(), Payload: n}
}

var networkPaths = []string{"name", "description", "max_leaders"}

func checkNetworkFields(v *apierr.Violations, n *networksv1.Network, paths map[string]bool) {
	if paths["name"] {
		check.Localized(v, "network.name", n.GetName(), false, 300)
	}
	if paths["description"] {
		check.Localized(v, "network.description", n.GetDescription(), false, 5000)
	}
	if paths["max_leaders"] && (n.GetMaxLeaders() < 0 || n.GetMaxLeaders() > 20) {
		v.Add("network.max_leaders", "must be between 1 and 20 (0 means the default, 2)")
	}
}

// CreateNetwork: the coordinator of the region × programme, or an admin.
func (s *Service) CreateNetwork(ctx context.Context, req *networksv1.CreateNetworkRequest) (*networksv1.CreateNetworkResponse, error) {
	n := req.GetNetwork()
	var v apierr.Violations
	if n == nil {
		v.Add("network", "is required")
	}
	v.Required("network.region", n.GetRegion())
	v.Required("network.programme", n.GetProgramme())
	checkNetworkFields(&v, n, fieldmask.All(networkPaths))
	check.ServerOwned(&v, "network", check.Set("id", n.GetId() != ""), check.Set("create_time", n.GetCreateTime() != nil),
		check.Set("update_time", n.GetUpdateTime() != nil), check.Set("etag", n.GetEtag() != ""),
		check.Set("active_member_count", n.GetActiveMemberCount() != 0))
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !auth.Caller(ctx).Coordinates(n.GetRegion(), n.GetProgramme()) {
		return nil, apierr.Deny("only the coordinator of %s × %s or an admin may create its network", n.GetRegion(), n.GetProgramme())
	}
	maxLeaders := n.GetMaxLeaders()
	if maxLeaders == 0 {
		maxLeaders = DefaultMaxLeaders
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	now := s.now()
	var out *networksv1.Network
	id, err := s.w.Create(ctx, networksv1connect.NetworksServiceCreateNetworkProcedure, req.GetRequestId(), reqid.Hash(hashReq), ids.New(),
		func(tx pgx.Tx, id string) ([]outbox.Event, error) {
			if err := checkReference(ctx, tx, n.GetRegion(), n.GetProgramme()); err != nil {
				return nil, err
			}
			_, err := tx.Exec(ctx, `INSERT INTO networks.networks (id, region, programme, name_fi, name_sv, name_en,
				description_fi, description_sv, description_en, max_leaders, create_time, update_time)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
				id, n.GetRegion(), n.GetProgramme(), n.GetName().GetFi(), n.GetName().GetSv(), n.GetName().GetEn(),
				n.GetDescription().GetFi(), n.GetDescription().GetSv(), n.GetDescription().GetEn(), maxLeaders, now)
			if c, ok := db.IsUniqueViolation(err); ok && c == "networks_region_programme" {
				return nil, apierr.AlreadyExists(fmt.Sprintf("the network of %s × %s already exists", n.GetRegion(), n.GetProgramme()))
			}
			if err != nil {
				return nil, err
			}
			if out, err = getNetwork(ctx, tx, id, false); err != nil {
				return nil, err
			}
			return []outbox.Event{networkEvent("created", out)}, nil
		})
	if err != nil {
		return nil, err
	}
	if out == nil { // a retry: the first call created it
		if out, err = getNetwork(ctx, s.pool, id, false); err != nil {
			return nil, err
		}
	}
	return &networksv1.CreateNetworkResponse{Network: out}, nil
}

// checkReference fails when the region or programme does not exist.
func checkReference(ctx context.Context, q db.DBTX, region, programme string) error {
	var v apierr.Violations
	var regionOK, programmeOK bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM networks.regions WHERE slug = $1),
		EXISTS (SELECT 1 FROM networks.programmes WHERE slug = $2)`, region, programme).Scan(&regionOK, &programmeOK); err != nil {
		return err
	}
	if !regionOK {
		v.Addf("network.region", "unknown region %q (see ListRegions)", region)
	}
	if !programmeOK {
		v.Addf("network.programme", "unknown programme %q (see ListProgrammes)", programme)
	}
	return v.Err()
}

// GetNetwork: see canReadNetwork.
func (s *Service) GetNetwork(ctx context.Context, req *networksv1.GetNetworkRequest) (*networksv1.GetNetworkResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	n, err := getNetwork(ctx, s.pool, req.GetId(), false)
	if err != nil {
		return nil, err
	}
	if !canReadNetwork(auth.Caller(ctx), n.GetRegion(), n.GetProgramme()) {
		return nil, apierr.Deny("your credential does not cover %s × %s", n.GetRegion(), n.GetProgramme())
	}
	return &networksv1.GetNetworkResponse{Network: n}, nil
}

// ListNetworks lists the networks the caller may read.
func (s *Service) ListNetworks(ctx context.Context, req *networksv1.ListNetworksRequest) (*networksv1.ListNetworksResponse, error) {
	var v apierr.Violations
	check.OptionalID(&v, "association_id", req.GetAssociationId())
	check.Text(&v, "region", req.GetRegion(), 64)
	check.Text(&v, "programme", req.GetProgramme(), 64)
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter := page.Fingerprint(req.GetRegion(), req.GetProgramme(), req.GetAssociationId())
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	regions, programmes := auth.PartnerScope(auth.Caller(ctx))
	var list []*networksv1.Network
	changeCursor, err := s.snapshotList(ctx, req.GetPageToken() == "", func(q db.DBTX) error {
		rows, err := q.Query(ctx, `SELECT `+networkColumns+` FROM networks.networks n
		WHERE ($1::uuid IS NULL OR n.id > $1) AND ($2 = '' OR n.region = $2) AND ($3 = '' OR n.programme = $3)
		AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM networks.memberships m WHERE m.network_id = n.id AND m.association_id = $4 AND m.state = 'ACTIVE'))
		AND `+auth.ScopeSQL("n", 5, 6)+`
		ORDER BY n.id LIMIT $7`,
			db.Null(after), req.GetRegion(), req.GetProgramme(), db.Null(req.GetAssociationId()), regions, programmes, size+1)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*networksv1.Network, error) { return scanNetwork(r) })
		return err
	})
	if err != nil {
		return nil, err
	}
	list, next := page.Trim(list, size, filter)
	return &networksv1.ListNetworksResponse{Networks: list, NextPageToken: next, ChangeCursor: changeCursor}, nil
}

// UpdateNetwork: the coordinator of the network's region × programme, or an admin.
func (s *Service) UpdateNetwork(ctx context.Context, req *networksv1.UpdateNetworkRequest) (*networksv1.UpdateNetworkResponse, error) {
	n := req.GetNetwork()
	var v apierr.Violations
	check.ID(&v, "network.id", n.GetId())
	paths, err := fieldmask.Paths(req.GetUpdateMask().GetPaths(), networkPaths)
	if err != nil {
		return nil, err
	}
	checkNetworkFields(&v, n, paths)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *networksv1.Network
	err = s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		cur, err := getNetwork(ctx, tx, n.GetId(), true)
		if err != nil {
			return nil, err
		}
		if !auth.Caller(ctx).Coordinates(cur.GetRegion(), cur.GetProgramme()) {
			return nil, apierr.Deny("only the coordinator of %s × %s or an admin may change its network", cur.GetRegion(), cur.GetProgramme())
		}
		if err := etag.Check("network", cur.GetId(), n.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		if paths["name"] {
			cur.Name = n.GetName()
		}
		if paths["description"] {
			cur.Description = n.GetDescription()
		}
		if paths["max_leaders"] {
			cur.MaxLeaders = n.GetMaxLeaders()
			if cur.MaxLeaders == 0 {
				cur.MaxLeaders = DefaultMaxLeaders
			}
			var active int32
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM networks.leaders WHERE network_id = $1 AND state = 'ACTIVE'`, cur.GetId()).Scan(&active); err != nil {
				return nil, err
			}
			if active > cur.MaxLeaders {
				return nil, apierr.FailedPrecondition("TOO_MANY_LEADERS",
					fmt.Sprintf("network %s has %d active leaders; end terms before lowering max_leaders to %d", cur.GetId(), active, cur.MaxLeaders))
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE networks.networks SET name_fi = $2, name_sv = $3, name_en = $4,
			description_fi = $5, description_sv = $6, description_en = $7, max_leaders = $8, update_time = $9, version = version + 1
			WHERE id = $1`, cur.GetId(), cur.GetName().GetFi(), cur.GetName().GetSv(), cur.GetName().GetEn(),
			cur.GetDescription().GetFi(), cur.GetDescription().GetSv(), cur.GetDescription().GetEn(), cur.GetMaxLeaders(), s.now()); err != nil {
			return nil, err
		}
		if out, err = getNetwork(ctx, tx, cur.GetId(), false); err != nil {
			return nil, err
		}
		return []outbox.Event{networkEvent("updated", out)}, nil
	})
	if err != nil {
		return nil, err
	}
	return &networksv1.UpdateNetworkResponse{Network: out}, nil
}
