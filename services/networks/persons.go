package networks

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/page"
	"github.com/verkosto/verkosto/internal/reqid"
)

const personColumns = `p.id::text, p.given_name, p.family_name, p.email, p.phone,
	coalesce((SELECT array_agg(f.association_id::text ORDER BY f.association_id) FROM networks.affiliations f WHERE f.person_id = p.id), '{}'),
	p.create_time, p.update_time, p.version`

func scanPerson(r pgx.Row) (*networksv1.Person, error) {
	x := &networksv1.Person{}
	var created, updated time.Time
	var version int64
	if err := r.Scan(&x.Id, &x.GivenName, &x.FamilyName, &x.Email, &x.Phone, &x.AssociationIds, &created, &updated, &version); err != nil {
		return nil, err
	}
	x.DisplayName = x.GivenName + " " + x.FamilyName
	x.CreateTime, x.UpdateTime, x.Etag = timestamppb.New(created), timestamppb.New(updated), etag(version)
	return x, nil
}

func getPerson(ctx context.Context, q db.DBTX, id string) (*networksv1.Person, error) {
	x, err := scanPerson(q.QueryRow(ctx, `SELECT `+personColumns+` FROM networks.persons p WHERE p.id = $1`, id))
	return x, notFound(err, "person", id)
}

// personEvent carries the person's id and name only: contact details never
// travel in changes.
func personEvent(name string, x *networksv1.Person) outbox.Event {
	v, _ := strconv.ParseInt(x.GetEtag(), 10, 64)
	public := &networksv1.Person{Id: x.GetId(), GivenName: x.GetGivenName(), FamilyName: x.GetFamilyName(),
		DisplayName: x.GetDisplayName(), AssociationIds: x.GetAssociationIds(), CreateTime: x.GetCreateTime(),
		UpdateTime: x.GetUpdateTime(), Etag: x.GetEtag()}
	return outbox.Event{Kind: "person", Name: name, AggregateID: x.GetId(), Version: v, Payload: public}
}

var personPaths = []string{"given_name", "family_name", "email", "phone", "association_ids"}

func checkPersonFields(v *apierr.Violations, x *networksv1.Person, paths map[string]bool) {
	if paths["given_name"] {
		v.Required("person.given_name", x.GetGivenName())
		checkText(v, "person.given_name", x.GetGivenName(), 100)
	}
	if paths["family_name"] {
		v.Required("person.family_name", x.GetFamilyName())
		checkText(v, "person.family_name", x.GetFamilyName(), 100)
	}
	if paths["email"] {
		checkEmail(v, "person.email", x.GetEmail())
	}
	if paths["phone"] {
		checkPhone(v, "person.phone", x.GetPhone())
	}
	if paths["association_ids"] {
		if len(x.GetAssociationIds()) > 50 {
			v.Add("person.association_ids", "must list at most 50 associations")
		}
		for i, id := range x.GetAssociationIds() {
			checkID(v, "person.association_ids["+strconv.Itoa(i)+"]", id)
		}
	}
}

// mayManagePerson: admins, the person themself, and contacts of an
// association the person acts for (before and after the change).
func mayManagePerson(p *auth.Principal, personID string, associationIDs ...[]string) bool {
	if p.IsAdmin() || (personID != "" && p.PersonID == personID) {
		return true
	}
	for _, list := range associationIDs {
		if slices.ContainsFunc(list, p.ActsFor) {
			return true
		}
	}
	return false
}

// mayReadPerson adds coordinators and leaders, who nominate and appoint
// people, to those who manage the person. Partners never read persons.
func mayReadPerson(p *auth.Principal, x *networksv1.Person) bool {
	return mayManagePerson(p, x.GetId(), x.GetAssociationIds()) || p.IsCoordinator() || p.IsLeader()
}

func (s *Service) setAffiliations(ctx context.Context, tx pgx.Tx, personID string, associationIDs []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM networks.affiliations WHERE person_id = $1`, personID); err != nil {
		return err
	}
	for _, a := range associationIDs {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM networks.associations WHERE id = $1)`, a).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return apierr.FailedPrecondition("ASSOCIATION_NOT_FOUND", "person.association_ids: association "+a+" does not exist")
		}
		if _, err := tx.Exec(ctx, `INSERT INTO networks.affiliations (person_id, association_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, personID, a); err != nil {
			return err
		}
	}
	return nil
}

// CreatePerson: admins, coordinators and leaders register anyone; an
// association contact registers persons of their own association.
func (s *Service) CreatePerson(ctx context.Context, req *networksv1.CreatePersonRequest) (*networksv1.CreatePersonResponse, error) {
	x := req.GetPerson()
	var v apierr.Violations
	if x == nil {
		v.Add("person", "is required")
	}
	checkPersonFields(&v, x, allPaths(personPaths))
	serverOwned(&v, "person", owned{"id", x.GetId() != ""}, owned{"create_time", x.GetCreateTime() != nil},
		owned{"update_time", x.GetUpdateTime() != nil}, owned{"etag", x.GetEtag() != ""}, owned{"display_name", x.GetDisplayName() != ""})
	if err := v.Err(); err != nil {
		return nil, err
	}
	p := caller(ctx)
	if !p.IsAdmin() && !p.IsCoordinator() && !p.IsLeader() && !mayManagePerson(p, "", x.GetAssociationIds()) {
		return nil, deny("an association contact may only register persons of their own association")
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	now := s.now()
	var out *networksv1.Person
	id, err := s.create(ctx, networksv1connect.NetworksServiceCreatePersonProcedure, req.GetRequestId(), reqid.Hash(hashReq), ids.New(),
		func(tx pgx.Tx, id string) ([]outbox.Event, error) {
			_, err := tx.Exec(ctx, `INSERT INTO networks.persons (id, given_name, family_name, email, phone, create_time, update_time)
				VALUES ($1, $2, $3, $4, $5, $6, $6)`, id, x.GetGivenName(), x.GetFamilyName(), x.GetEmail(), x.GetPhone(), now)
			if err != nil {
				return nil, err
			}
			if err := s.setAffiliations(ctx, tx, id, x.GetAssociationIds()); err != nil {
				return nil, err
			}
			if out, err = getPerson(ctx, tx, id); err != nil {
				return nil, err
			}
			return []outbox.Event{personEvent("created", out)}, nil
		})
	if err != nil {
		return nil, err
	}
	if out == nil { // a retry: the first call created it
		if out, err = getPerson(ctx, s.pool, id); err != nil {
			return nil, err
		}
	}
	return &networksv1.CreatePersonResponse{Person: out}, nil
}

// GetPerson: see mayReadPerson.
func (s *Service) GetPerson(ctx context.Context, req *networksv1.GetPersonRequest) (*networksv1.GetPersonResponse, error) {
	var v apierr.Violations
	checkID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	x, err := getPerson(ctx, s.pool, req.GetId())
	if err != nil {
		return nil, err
	}
	if !mayReadPerson(caller(ctx), x) {
		return nil, deny("you may not read person %s", req.GetId())
	}
	return &networksv1.GetPersonResponse{Person: x}, nil
}

// ListPersons: admins, coordinators and leaders list everyone; an association
// contact lists the persons of their own associations.
func (s *Service) ListPersons(ctx context.Context, req *networksv1.ListPersonsRequest) (*networksv1.ListPersonsResponse, error) {
	var v apierr.Violations
	checkOptionalID(&v, "association_id", req.GetAssociationId())
	checkText(&v, "query", req.GetQuery(), 200)
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter := page.Fingerprint(req.GetAssociationId(), req.GetQuery())
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	p := caller(ctx)
	var only []string // nil: no restriction
	if !p.IsAdmin() && !p.IsCoordinator() && !p.IsLeader() {
		only = p.AssociationIDs()
		if len(only) == 0 {
			return nil, deny("you may not list persons")
		}
		if req.GetAssociationId() != "" && !slices.Contains(only, req.GetAssociationId()) {
			return nil, deny("you may list only the persons of your own association")
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT `+personColumns+` FROM networks.persons p
		WHERE ($1::uuid IS NULL OR p.id > $1)
		AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM networks.affiliations f WHERE f.person_id = p.id AND f.association_id = $2))
		AND ($3 = '' OR (p.given_name || ' ' || p.family_name) ILIKE '%' || $3 || '%')
		AND ($4::uuid[] IS NULL OR EXISTS (SELECT 1 FROM networks.affiliations f WHERE f.person_id = p.id AND f.association_id = ANY ($4)))
		ORDER BY p.id LIMIT $5`,
		nullable(after), nullable(req.GetAssociationId()), likeEscape(req.GetQuery()), only, size+1)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*networksv1.Person, error) { return scanPerson(r) })
	if err != nil {
		return nil, err
	}
	next := page.Next(len(list), size, func() string { return list[size-1].GetId() }, filter)
	if len(list) > size {
		list = list[:size]
	}
	return &networksv1.ListPersonsResponse{Persons: list, NextPageToken: next}, nil
}

// UpdatePerson: see mayManagePerson.
func (s *Service) UpdatePerson(ctx context.Context, req *networksv1.UpdatePersonRequest) (*networksv1.UpdatePersonResponse, error) {
	x := req.GetPerson()
	var v apierr.Violations
	checkID(&v, "person.id", x.GetId())
	paths, err := maskPaths(req.GetUpdateMask().GetPaths(), personPaths)
	if err != nil {
		return nil, err
	}
	checkPersonFields(&v, x, paths)
	if err := v.Err(); err != nil {
		return nil, err
	}
	p := caller(ctx)
	var out *networksv1.Person
	err = s.write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		cur, err := scanPerson(tx.QueryRow(ctx, `SELECT `+personColumns+` FROM networks.persons p WHERE p.id = $1 FOR UPDATE`, x.GetId()))
		if err != nil {
			return nil, notFound(err, "person", x.GetId())
		}
		newAssociations := cur.GetAssociationIds()
		if paths["association_ids"] {
			newAssociations = x.GetAssociationIds()
		}
		if !mayManagePerson(p, cur.GetId(), cur.GetAssociationIds()) || (!p.IsAdmin() && p.PersonID != cur.GetId() && !mayManagePerson(p, "", newAssociations)) {
			return nil, deny("you may not change person %s", x.GetId())
		}
		if err := checkEtagString("person", cur.GetId(), x.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		if paths["given_name"] {
			cur.GivenName = x.GetGivenName()
		}
		if paths["family_name"] {
			cur.FamilyName = x.GetFamilyName()
		}
		if paths["email"] {
			cur.Email = x.GetEmail()
		}
		if paths["phone"] {
			cur.Phone = x.GetPhone()
		}
		if _, err := tx.Exec(ctx, `UPDATE networks.persons SET given_name = $2, family_name = $3, email = $4, phone = $5,
			update_time = $6, version = version + 1 WHERE id = $1`,
			cur.GetId(), cur.GetGivenName(), cur.GetFamilyName(), cur.GetEmail(), cur.GetPhone(), s.now()); err != nil {
			return nil, err
		}
		if paths["association_ids"] {
			if err := s.setAffiliations(ctx, tx, cur.GetId(), newAssociations); err != nil {
				return nil, err
			}
		}
		if out, err = getPerson(ctx, tx, cur.GetId()); err != nil {
			return nil, err
		}
		return []outbox.Event{personEvent("updated", out)}, nil
	})
	if err != nil {
		return nil, err
	}
	return &networksv1.UpdatePersonResponse{Person: out}, nil
}
