package networks

import (
	"context"
	"fmt"
	"strconv"
	"strings"
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

const associationColumns = `a.id::text, a.name_fi, a.name_sv, a.name_en, coalesce(a.business_id, ''), a.register_number,
	a.umbrella, a.municipalities, a.website, a.contact_email, a.create_time, a.update_time, a.version`

func scanAssociation(r pgx.Row) (*networksv1.Association, error) {
	a := &networksv1.Association{Name: &commonv1.LocalizedText{}}
	var created, updated time.Time
	var version int64
	err := r.Scan(&a.Id, &a.Name.Fi, &a.Name.Sv, &a.Name.En, &a.BusinessId, &a.RegisterNumber, &a.UmbrellaOrganisation,
		&a.Municipalities, &a.Website, &a.ContactEmail, &created, &updated, &version)
	if err != nil {
		return nil, err
	}
	a.CreateTime, a.UpdateTime, a.Etag = timestamppb.New(created), timestamppb.New(updated), etag.Of(version)
	return a, nil
}

func checkAssociationFields(v *apierr.Violations, a *networksv1.Association, paths map[string]bool) {
	if paths["name"] {
		check.Localized(v, "association.name", a.GetName(), true, 300)
	}
	if paths["business_id"] && a.GetBusinessId() != "" && !ValidBusinessID(a.GetBusinessId()) {
		v.Add("association.business_id", "must be a Finnish business ID (Y-tunnus) like 0201256-6 with a valid check digit")
	}
	if paths["register_number"] {
		check.Text(v, "association.register_number", a.GetRegisterNumber(), 50)
	}
	if paths["umbrella_organisation"] {
		check.Text(v, "association.umbrella_organisation", a.GetUmbrellaOrganisation(), 300)
	}
	if paths["municipalities"] {
		if len(a.GetMunicipalities()) > 100 {
			v.Add("association.municipalities", "must list at most 100 municipalities")
		}
		for i, m := range a.GetMunicipalities() {
			if strings.TrimSpace(m) == "" || len(m) > 100 {
				v.Addf(fmt.Sprintf("association.municipalities[%d]", i), "must be a municipality name")
			}
		}
	}
	if paths["website"] {
		check.URL(v, "association.website", a.GetWebsite())
	}
	if paths["contact_email"] {
		check.Email(v, "association.contact_email", a.GetContactEmail())
	}
}

var associationPaths = []string{"name", "business_id", "register_number", "umbrella_organisation", "municipalities", "website", "contact_email"}

// CreateAssociation registers an association: admins and coordinators.
func (s *Service) CreateAssociation(ctx context.Context, req *networksv1.CreateAssociationRequest) (*networksv1.CreateAssociationResponse, error) {
	p := auth.Caller(ctx)
	if !p.IsAdmin() && !p.IsCoordinator() {
		return nil, apierr.Deny("only admins and programme coordinators may register associations")
	}
	a := req.GetAssociation()
	var v apierr.Violations
	if a == nil {
		v.Add("association", "is required")
	}
	checkAssociationFields(&v, a, fieldmask.All(associationPaths))
	check.ServerOwned(&v, "association", check.Set("id", a.GetId() != ""), check.Set("create_time", a.GetCreateTime() != nil),
		check.Set("update_time", a.GetUpdateTime() != nil), check.Set("etag", a.GetEtag() != ""))
	if err := v.Err(); err != nil {
		return nil, err
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	now := s.now()
	var out *networksv1.Association
	id, err := s.w.Create(ctx, networksv1connect.NetworksServiceCreateAssociationProcedure, req.GetRequestId(), reqid.Hash(hashReq), ids.New(),
		func(tx pgx.Tx, id string) ([]outbox.Event, error) {
			_, err := tx.Exec(ctx, `INSERT INTO networks.associations (id, name_fi, name_sv, name_en, business_id, register_number,
				umbrella, municipalities, website, contact_email, create_time, update_time)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
				id, a.GetName().GetFi(), a.GetName().GetSv(), a.GetName().GetEn(), db.Null(a.GetBusinessId()), a.GetRegisterNumber(),
				a.GetUmbrellaOrganisation(), db.NonNil(a.GetMunicipalities()), a.GetWebsite(), a.GetContactEmail(), now)
			if c, ok := db.IsUniqueViolation(err); ok && c == "associations_business_id" {
				return nil, apierr.AlreadyExists(fmt.Sprintf("an association with business ID %s already exists", a.GetBusinessId()))
			}
			if err != nil {
				return nil, err
			}
			if out, err = getAssociation(ctx, tx, id); err != nil {
				return nil, err
			}
			return []outbox.Event{associationEvent("created", out)}, nil
		})
	if err != nil {
		return nil, err
	}
	if out == nil { // a retry: the first call created it
		if out, err = getAssociation(ctx, s.pool, id); err != nil {
			return nil, err
		}
	}
	return &networksv1.CreateAssociationResponse{Association: out}, nil
}

func associationEvent(name string, a *networksv1.Association) outbox.Event {
	v, _ := strconv.ParseInt(a.GetEtag(), 10, 64)
	return outbox.Event{Kind: "association", Name: name, AggregateID: a.GetId(), Version: v, Payload: a}
}

func getAssociation(ctx context.Context, q db.DBTX, id string) (*networksv1.Association, error) {
	a, err := scanAssociation(q.QueryRow(ctx, `SELECT `+associationColumns+` FROM networks.associations a WHERE a.id = $1`, id))
	return a, apierr.IfNotFound(err, "association", id)
}

// GetAssociation is readable by every authenticated caller: associations and
// their organisational contact details are public register information.
func (s *Service) GetAssociation(ctx context.Context, req *networksv1.GetAssociationRequest) (*networksv1.GetAssociationResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	a, err := getAssociation(ctx, s.pool, req.GetId())
	if err != nil {
		return nil, err
	}
	return &networksv1.GetAssociationResponse{Association: a}, nil
}

// listAssociationsSQL pages associations by id (keyset: $1 is the last id
// of the previous page) with optional filters.
const listAssociationsSQL = `SELECT ` + associationColumns + ` FROM networks.associations a
		WHERE ($1::uuid IS NULL OR a.id > $1)
		AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM networks.memberships m WHERE m.association_id = a.id AND m.network_id = $2 AND m.state = 'ACTIVE'))
		AND ($3 = '' OR $3 = ANY (a.municipalities))
		AND ($4 = '' OR a.name_fi ILIKE '%' || $4 || '%' OR a.name_sv ILIKE '%' || $4 || '%' OR a.name_en ILIKE '%' || $4 || '%')
		AND ($5 = '' OR a.business_id = $5)
		ORDER BY a.id LIMIT $6`

// ListAssociations pages associations by id with optional filters.
func (s *Service) ListAssociations(ctx context.Context, req *networksv1.ListAssociationsRequest) (*networksv1.ListAssociationsResponse, error) {
	var v apierr.Violations
	check.OptionalID(&v, "network_id", req.GetNetworkId())
	check.Text(&v, "query", req.GetQuery(), 200)
	check.Text(&v, "municipality", req.GetMunicipality(), 100)
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter := page.Fingerprint(req.GetNetworkId(), req.GetMunicipality(), req.GetQuery(), req.GetBusinessId())
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var list []*networksv1.Association
	changeCursor, err := s.snapshotList(ctx, req.GetPageToken() == "", func(q db.DBTX) error {
		rows, err := q.Query(ctx, listAssociationsSQL,
			db.Null(after), db.Null(req.GetNetworkId()), req.GetMunicipality(), db.LikeEscape(req.GetQuery()), req.GetBusinessId(), size+1)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*networksv1.Association, error) { return scanAssociation(r) })
		return err
	})
	if err != nil {
		return nil, err
	}
	list, next := page.Trim(list, size, filter)
	return &networksv1.ListAssociationsResponse{Associations: list, NextPageToken: next, ChangeCursor: changeCursor}, nil
}

// UpdateAssociation: admins and the association's own contacts.
func (s *Service) UpdateAssociation(ctx context.Context, req *networksv1.UpdateAssociationRequest) (*networksv1.UpdateAssociationResponse, error) {
	a := req.GetAssociation()
	var v apierr.Violations
	check.ID(&v, "association.id", a.GetId())
	paths, err := fieldmask.Paths(req.GetUpdateMask().GetPaths(), associationPaths)
	if err != nil {
		return nil, err
	}
	checkAssociationFields(&v, a, paths)
	if err := v.Err(); err != nil {
		return nil, err
	}
	p := auth.Caller(ctx)
	if !p.IsAdmin() && !p.ActsFor(a.GetId()) {
		return nil, apierr.Deny("only an admin or the association's contact may change association %s", a.GetId())
	}
	var out *networksv1.Association
	err = s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		cur, err := scanAssociation(tx.QueryRow(ctx, `SELECT `+associationColumns+` FROM networks.associations a WHERE a.id = $1 FOR UPDATE`, a.GetId()))
		if err != nil {
			return nil, apierr.IfNotFound(err, "association", a.GetId())
		}
		if err := etag.Check("association", a.GetId(), a.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		if paths["name"] {
			cur.Name = a.GetName()
		}
		if paths["business_id"] {
			cur.BusinessId = a.GetBusinessId()
		}
		if paths["register_number"] {
			cur.RegisterNumber = a.GetRegisterNumber()
		}
		if paths["umbrella_organisation"] {
			cur.UmbrellaOrganisation = a.GetUmbrellaOrganisation()
		}
		if paths["municipalities"] {
			cur.Municipalities = a.GetMunicipalities()
		}
		if paths["website"] {
			cur.Website = a.GetWebsite()
		}
		if paths["contact_email"] {
			cur.ContactEmail = a.GetContactEmail()
		}
		_, err = tx.Exec(ctx, `UPDATE networks.associations SET name_fi = $2, name_sv = $3, name_en = $4, business_id = $5,
			register_number = $6, umbrella = $7, municipalities = $8, website = $9, contact_email = $10,
			update_time = $11, version = version + 1 WHERE id = $1`,
			cur.GetId(), cur.GetName().GetFi(), cur.GetName().GetSv(), cur.GetName().GetEn(), db.Null(cur.GetBusinessId()),
			cur.GetRegisterNumber(), cur.GetUmbrellaOrganisation(), db.NonNil(cur.GetMunicipalities()), cur.GetWebsite(), cur.GetContactEmail(), s.now())
		if c, ok := db.IsUniqueViolation(err); ok && c == "associations_business_id" {
			return nil, apierr.AlreadyExists(fmt.Sprintf("an association with business ID %s already exists", cur.GetBusinessId()))
		}
		if err != nil {
			return nil, err
		}
		if out, err = getAssociation(ctx, tx, cur.GetId()); err != nil {
			return nil, err
		}
		return []outbox.Event{associationEvent("updated", out)}, nil
	})
	if err != nil {
		return nil, err
	}
	return &networksv1.UpdateAssociationResponse{Association: out}, nil
}
