package networks

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/outbox"
)

// ListRegions is readable by every authenticated caller: regions are public reference data.
func (s *Service) ListRegions(ctx context.Context, _ *networksv1.ListRegionsRequest) (*networksv1.ListRegionsResponse, error) {
	rows, err := s.pool.Query(ctx, `SELECT slug, name_fi, name_sv, name_en, organiser_fi, organiser_sv, organiser_en
		FROM networks.regions ORDER BY position, slug`)
	if err != nil {
		return nil, err
	}
	regions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*networksv1.Region, error) {
		x := &networksv1.Region{Name: &commonv1.LocalizedText{}, Organiser: &commonv1.LocalizedText{}}
		err := r.Scan(&x.Slug, &x.Name.Fi, &x.Name.Sv, &x.Name.En, &x.Organiser.Fi, &x.Organiser.Sv, &x.Organiser.En)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	return &networksv1.ListRegionsResponse{Regions: regions}, nil
}

// ListProgrammes is readable by every authenticated caller.
func (s *Service) ListProgrammes(ctx context.Context, _ *networksv1.ListProgrammesRequest) (*networksv1.ListProgrammesResponse, error) {
	rows, err := s.pool.Query(ctx, `SELECT slug, name_fi, name_sv, name_en, create_time FROM networks.programmes ORDER BY create_time, slug`)
	if err != nil {
		return nil, err
	}
	programmes, err := pgx.CollectRows(rows, scanProgramme)
	if err != nil {
		return nil, err
	}
	return &networksv1.ListProgrammesResponse{Programmes: programmes}, nil
}

func scanProgramme(r pgx.CollectableRow) (*networksv1.Programme, error) {
	x := &networksv1.Programme{Name: &commonv1.LocalizedText{}}
	var created time.Time
	err := r.Scan(&x.Slug, &x.Name.Fi, &x.Name.Sv, &x.Name.En, &created)
	x.CreateTime = timestamppb.New(created)
	return x, err
}

// CreateProgramme adds a region's own programme; admins only.
func (s *Service) CreateProgramme(ctx context.Context, req *networksv1.CreateProgrammeRequest) (*networksv1.CreateProgrammeResponse, error) {
	if !auth.Caller(ctx).IsAdmin() {
		return nil, apierr.Deny("only an admin may add programmes")
	}
	p := req.GetProgramme()
	var v apierr.Violations
	if p == nil {
		v.Add("programme", "is required")
	}
	if !check.ValidSlug(p.GetSlug()) {
		v.Add("programme.slug", "must be lower-case letters, digits and single hyphens, e.g. \"lape\"")
	}
	check.Localized(&v, "programme.name", p.GetName(), true, 200)
	check.ServerOwned(&v, "programme", check.Set("create_time", p.GetCreateTime() != nil))
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	out := &networksv1.Programme{Slug: p.GetSlug(), Name: p.GetName(), CreateTime: timestamppb.New(now)}
	err := s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		tag, err := tx.Exec(ctx, `INSERT INTO networks.programmes (slug, name_fi, name_sv, name_en, create_time)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, p.GetSlug(), p.GetName().GetFi(), p.GetName().GetSv(), p.GetName().GetEn(), now)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			return nil, apierr.AlreadyExists(fmt.Sprintf("programme %q already exists", p.GetSlug()))
		}
		return []outbox.Event{{Kind: "programme", Name: "created", AggregateID: p.GetSlug(), Version: 1,
			Programme: p.GetSlug(), Payload: out}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &networksv1.CreateProgrammeResponse{Programme: out}, nil
}
