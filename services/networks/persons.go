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
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/etag"
	"github.com/verkosto/verkosto/internal/fieldmask"
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
	x.CreateTime, x.UpdateTime, x.Etag = timestamppb.New(created), timestamppb.New(updated), etag.Of(version)
	return x, nil
}

func getPerson(ctx context.Context, q db.DBTX, id string) (*networksv1.Person, error) {
	x, err := scanPerson(q.QueryRow(ctx, `SELECT `+personColumns+` FROM networks.persons p WHERE p.id = $1`, id))
	return x, apierr.IfNotFound(err, "person", id)
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
		check.Text(v, "person.given_name", x.GetGivenName(), 100)
	}
	if paths["family_name"] {
		v.Required("person.family_name", x.GetFamilyName())
		check.Text(v, "person.family_name", x.GetFamilyName(), 100)
	}
	if paths["email"] {
		check.Email(v, "person.email", x.GetEmail())
	}
	if paths["phone"] {
		check.Phone(v, "person.phone", x.GetPhone())
	}
	if paths["association_ids"] {
		if len(x.GetAssociationIds()) > 50 {
			v.Add("person.association_ids", "must list at most 50 associations")
		}
		for i, id := range x.GetAssociationIds() {
			check.ID(v, "person.association_ids["+strconv.Itoa(i)+"]", id)
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

// reachSQL is true for persons (alias p) a leader or coordinator reaches:
// persons acting for an association with a pending or active membership in
// a network they lead ($1 uuid[]) or coordinate ($2, $3: region and
// programme text[]); coordinators also reach persons of no association
// (people of public organisations in their working groups).
const reachSQL = `(EXISTS (SELECT 1 FROM networks.affiliations f
		JOIN networks.memberships m ON m.association_id = f.association_id AND m.state IN ('PENDING', 'ACTIVE')
		JOIN networks.networks n ON n.id = m.network_id
		WHERE f.person_id = p.id AND (n.id = ANY ($1::uuid[])
			OR EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS s(r, g) WHERE s.r = n.region AND s.g = n.programme)))
	OR (cardinality($2::text[]) > 0 AND NOT EXISTS (SELECT 1 FROM networks.affiliations f WHERE f.person_id = p.id)))`

// reaches reports whether the principal's leader or coordinator bindings
// reach the person.
func reaches(ctx context.Context, q db.DBTX, pr *auth.Principal, personID string) (bool, error) {
	regions, programmes := pr.Coordinated()
	var ok bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM networks.persons p WHERE p.id = $4 AND `+reachSQL+`)`,
		db.NonNil(pr.LedNetworks()), db.NonNil(regions), db.NonNil(programmes), personID).Scan(&ok)
	return ok, err
}

// mayReadPerson: those who manage the person, and the leaders and
// coordinators whose networks the person's associations take part in.
// Partners never read persons.
func mayReadPerson(ctx context.Context, q db.DBTX, p *auth.Principal, x *networksv1.Person) (bool, error) {
	if mayManagePerson(p, x.GetId(), x.GetAssociationIds()) {
		return true, nil
	}
	if !p.IsCoordinator() && !p.IsLeader() {
		return false, nil
	}
	return reaches(ctx, q, p, x.GetId())
}

// associationsReachable checks that a leader or coordinator registers persons
// only into associations taking part in their networks (coordinators may
// also register persons of no association).
func associationsReachable(ctx context.Context, q db.DBTX, p *auth.Principal, associationIDs []string) (bool, error) {
	regions, programmes := p.Coordinated()
	if len(associationIDs) == 0 {
		return len(regions) > 0, nil
	}
	var unreachable int
	err := q.QueryRow(ctx, `SELECT count(*) FROM unnest($4::uuid[]) AS a(id) WHERE NOT EXISTS (
		SELECT 1 FROM networks.memberships m JOIN networks.networks n ON n.id = m.network_id
		WHERE m.association_id = a.id AND m.state IN ('PENDING', 'ACTIVE') AND (n.id = ANY ($1::uuid[])
			OR EXISTS (SELECT 1 FROM unnest($2::text[], $3::text[]) AS s(r, g) WHERE s.r = n.region AND s.g = n.programme)))`,
		db.NonNil(p.LedNetworks()), db.NonNil(regions), db.NonNil(programmes), associationIDs).Scan(&unreachable)
	return unreachable == 0, err
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
	checkPersonFields(&v, x, fieldmask.All(personPaths))
	check.ServerOwned(&v, "person", check.Set("id", x.GetId() != ""), check.Set("create_time", x.GetCreateTime() != nil),
		check.Set("update_time", x.GetUpdateTime() != nil), check.Set("etag", x.GetEtag() != ""), check.Set("display_name", x.GetDisplayName() != ""))
	if err := v.Err(); err != nil {
		return nil, err
	}
	p := auth.Caller(ctx)
	if !p.IsAdmin() && !(len(x.GetAssociationIds()) > 0 && mayManagePerson(p, "", x.GetAssociationIds())) {
		ok, err := associationsReachable(ctx, s.pool, p, x.GetAssociationIds())
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, apierr.Deny("you may register persons only of associations taking part in your networks (an association contact: of their own association)")
		}
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	now := s.now()
	var out *networksv1.Person
	id, err := s.w.Create(ctx, networksv1connect.NetworksServiceCreatePersonProcedure, req.GetRequestId(), reqid.Hash(hashReq), ids.New(),
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
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	x, err := getPerson(ctx, s.pool, req.GetId())
	if err != nil {
		return nil, err
	}
	ok, err := mayReadPerson(ctx, s.pool, auth.Caller(ctx), x)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apierr.Deny("you may not read person %s", req.GetId())
	}
	return &networksv1.GetPersonResponse{Person: x}, nil
}

// ListPersons: admins, coordinators and leaders list everyone; an association
// contact lists the persons of their own associations.
func (s *Service) ListPersons(ctx context.Context, req *networksv1.ListPersonsRequest) (*networksv1.ListPersonsResponse, error) {
	var v apierr.Violations
	check.OptionalID(&v, "association_id", req.GetAssociationId())
	check.Text(&v, "query", req.GetQuery(), 200)
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
	// Everyone but admins sees the persons they reach: an association
	// contact their associations', leaders and coordinators those of the
	// associations taking part in their networks.
	p := auth.Caller(ctx)
	restricted := !p.IsAdmin()
	regions, programmes := p.Coordinated()
	if restricted && !p.IsCoordinator() && !p.IsLeader() && req.GetAssociationId() != "" && !p.ActsFor(req.GetAssociationId()) {
		return nil, apierr.Deny("you may list only the persons of your own association")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+personColumns+` FROM networks.persons p
		WHERE ($4::uuid IS NULL OR p.id > $4)
		AND ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM networks.affiliations f WHERE f.person_id = p.id AND f.association_id = $5))
		AND ($6 = '' OR (p.given_name || ' ' || p.family_name) ILIKE '%' || $6 || '%')
		AND (NOT $7 OR p.id = $9::uuid OR EXISTS (SELECT 1 FROM networks.affiliations f WHERE f.person_id = p.id AND f.association_id = ANY ($8::uuid[]))
			OR `+reachSQL+`)
		ORDER BY p.id LIMIT $10`,
		db.NonNil(p.LedNetworks()), db.NonNil(regions), db.NonNil(programmes),
		db.Null(after), db.Null(req.GetAssociationId()), db.LikeEscape(req.GetQuery()), restricted, db.NonNil(p.AssociationIDs()), db.Null(p.PersonID), size+1)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*networksv1.Person, error) { return scanPerson(r) })
	if err != nil {
		return nil, err
	}
	list, next := page.Trim(list, size, filter)
	return &networksv1.ListPersonsResponse{Persons: list, NextPageToken: next}, nil
}

// UpdatePerson: see mayManagePerson.
func (s *Service) UpdatePerson(ctx context.Context, req *networksv1.UpdatePersonRequest) (*networksv1.UpdatePersonResponse, error) {
	x := req.GetPerson()
	var v apierr.Violations
	check.ID(&v, "person.id", x.GetId())
	paths, err := fieldmask.Paths(req.GetUpdateMask().GetPaths(), personPaths)
	if err != nil {
		return nil, err
	}
	checkPersonFields(&v, x, paths)
	if err := v.Err(); err != nil {
		return nil, err
	}
	p := auth.Caller(ctx)
	var out *networksv1.Person
	err = s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		cur, err := scanPerson(tx.QueryRow(ctx, `SELECT `+personColumns+` FROM networks.persons p WHERE p.id = $1 FOR UPDATE`, x.GetId()))
		if err != nil {
			return nil, apierr.IfNotFound(err, "person", x.GetId())
		}
		var erased bool
		if err := tx.QueryRow(ctx, `SELECT erase_time IS NOT NULL FROM networks.persons WHERE id = $1`, cur.GetId()).Scan(&erased); err != nil {
			return nil, err
		}
		if erased {
			return nil, apierr.FailedPrecondition("ERASED", "person "+cur.GetId()+" was erased and cannot be changed")
		}
		newAssociations := cur.GetAssociationIds()
		if paths["association_ids"] {
			newAssociations = x.GetAssociationIds()
		}
		if !mayManagePerson(p, cur.GetId(), cur.GetAssociationIds()) || (!p.IsAdmin() && p.PersonID != cur.GetId() && !mayManagePerson(p, "", newAssociations)) {
			return nil, apierr.Deny("you may not change person %s", x.GetId())
		}
		if err := etag.Check("person", cur.GetId(), x.GetEtag(), cur.GetEtag()); err != nil {
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
