// Package audit serves the audit trail kept by internal/audit.
package audit

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"

	auditv1 "github.com/verkosto/verkosto/gen/verkosto/audit/v1"
	"github.com/verkosto/verkosto/gen/verkosto/audit/v1/auditv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/page"
	"github.com/verkosto/verkosto/internal/server"
)

// Module registers the audit service; the trail's schema is the platform's.
func Module() app.Module {
	return app.Module{
		Name: "audit",
		New: func(ctx context.Context, deps app.Deps) (*app.Service, error) {
			s := &Service{pool: deps.Pool}
			path, h := auditv1connect.NewAuditServiceHandler(s, deps.HandlerOptions...)
			return &app.Service{
				Names:  []string{auditv1connect.AuditServiceName},
				Mounts: []server.Mount{{Path: path, Handler: h}},
				Policies: auth.Policies{
					auditv1connect.AuditServiceListAuditRecordsProcedure: auth.Allow(
						"admins: every record; coordinators: records of their region × programme", auth.RoleAdmin, auth.RoleCoordinator),
				},
			}, nil
		},
	}
}

// Service implements verkosto.audit.v1.AuditService.
type Service struct {
	auditv1connect.UnimplementedAuditServiceHandler
	pool *pgxpool.Pool
}

// ListAuditRecords pages the trail newest first within the caller's scope.
func (s *Service) ListAuditRecords(ctx context.Context, req *auditv1.ListAuditRecordsRequest) (*auditv1.ListAuditRecordsResponse, error) {
	var v apierr.Violations
	for _, f := range []struct{ name, value string }{{"credential_id", req.GetCredentialId()}, {"procedure", req.GetProcedure()},
		{"resource_id", req.GetResourceId()}, {"outcome", req.GetOutcome()}, {"region", req.GetRegion()}, {"programme", req.GetProgramme()}} {
		check.Text(&v, f.name, f.value, 200)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter := page.Fingerprint(req.GetCredentialId(), req.GetProcedure(), req.GetResourceId(), req.GetOutcome(), req.GetRegion(),
		req.GetProgramme(), req.GetStartTime().String(), req.GetEndTime().String())
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	var afterID *int64
	if after != "" {
		id, err := strconv.ParseInt(after, 10, 64)
		if err != nil {
			return nil, apierr.InvalidArgument("page_token", "is not a valid page token")
		}
		afterID = &id
	}
	var start, end *time.Time
	if req.GetStartTime() != nil {
		t := req.GetStartTime().AsTime()
		start = &t
	}
	if req.GetEndTime() != nil {
		t := req.GetEndTime().AsTime()
		end = &t
	}
	p := auth.Caller(ctx)
	var regions, programmes []string // nil: every record
	if !p.IsAdmin() {
		regions, programmes = p.Coordinated()
	}
	rows, err := s.pool.Query(ctx, `SELECT id, time, credential_id, principal_name, procedure, resource_id, region, programme, outcome, request_id
		FROM audit.records r
		WHERE ($1::bigint IS NULL OR r.id < $1) AND ($2 = '' OR r.credential_id = $2) AND ($3 = '' OR r.procedure = $3)
		AND ($4 = '' OR r.resource_id = $4) AND ($5 = '' OR r.outcome = $5) AND ($6 = '' OR r.region = $6) AND ($7 = '' OR r.programme = $7)
		AND ($8::timestamptz IS NULL OR r.time >= $8) AND ($9::timestamptz IS NULL OR r.time < $9)
		AND ($10::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($10::text[], $11::text[]) AS s(g, p) WHERE s.g = r.region AND s.p = r.programme))
		ORDER BY r.id DESC LIMIT $12`,
		afterID, req.GetCredentialId(), req.GetProcedure(), req.GetResourceId(), req.GetOutcome(), req.GetRegion(), req.GetProgramme(),
		start, end, regions, programmes, size+1)
	if err != nil {
		return nil, err
	}
	type row struct {
		id int64
		r  *auditv1.AuditRecord
	}
	list, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (row, error) {
		x := row{r: &auditv1.AuditRecord{}}
		var t time.Time
		err := cr.Scan(&x.id, &t, &x.r.CredentialId, &x.r.PrincipalName, &x.r.Procedure, &x.r.ResourceId, &x.r.Region,
			&x.r.Programme, &x.r.Outcome, &x.r.RequestId)
		x.r.Time = timestamppb.New(t)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	list, next := page.TrimBy(list, size, filter, func(last row) string { return strconv.FormatInt(last.id, 10) })
	out := make([]*auditv1.AuditRecord, len(list))
	for i, x := range list {
		out[i] = x.r
	}
	return &auditv1.ListAuditRecordsResponse{Records: out, NextPageToken: next}, nil
}
