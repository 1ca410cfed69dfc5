package networks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/etag"
	"github.com/verkosto/verkosto/internal/outbox"
)

// ErasedName is shown instead of an erased person's name.
const ErasedName = "Poistettu henkilö"

// EmailHash is how services recognise an erased person's email without it:
// hex SHA-256 of the lower-cased, trimmed address.
func EmailHash(email string) string {
	if strings.TrimSpace(email) == "" {
		return ""
	}
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(h[:])
}

// ExportPersonData: admins, and the person themself.
func (s *Service) ExportPersonData(ctx context.Context, req *networksv1.ExportPersonDataRequest) (*networksv1.ExportPersonDataResponse, error) {
	var v apierr.Violations
	check.ID(&v, "person_id", req.GetPersonId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	p := auth.Caller(ctx)
	if !p.IsAdmin() && p.PersonID != req.GetPersonId() {
		return nil, apierr.Deny("only an admin or the person themself may export a person's data")
	}
	out := &networksv1.ExportPersonDataResponse{ExportTime: timestamppb.New(s.now())}
	_, err := outbox.ReadSnapshot(ctx, s.pool, func(q db.DBTX) error {
		var err error
		if out.Person, err = getPerson(ctx, q, req.GetPersonId()); err != nil {
			return err
		}
		for _, id := range out.GetPerson().GetAssociationIds() {
			a, err := getAssociation(ctx, q, id)
			if err != nil {
				return err
			}
			out.Associations = append(out.Associations, a)
		}
		rows, err := q.Query(ctx, `SELECT `+leaderColumns+leaderFrom+` WHERE l.person_id = $1 ORDER BY l.id`, req.GetPersonId())
		if err != nil {
			return err
		}
		out.Leaderships, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*networksv1.Leader, error) { return scanLeader(r) })
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ErasePerson: admins only. The person's row stays (memberships, leaderships
// and representations keep pointing at it) but holds nothing of them.
func (s *Service) ErasePerson(ctx context.Context, req *networksv1.ErasePersonRequest) (*networksv1.ErasePersonResponse, error) {
	var v apierr.Violations
	check.ID(&v, "person_id", req.GetPersonId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !auth.Caller(ctx).IsAdmin() {
		return nil, apierr.Deny("only an admin may erase a person")
	}
	var out *networksv1.Person
	err := s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		var email string
		var erased *time.Time
		err := tx.QueryRow(ctx, `SELECT email, erase_time FROM networks.persons WHERE id = $1 FOR UPDATE`, req.GetPersonId()).Scan(&email, &erased)
		if err != nil {
			return nil, apierr.IfNotFound(err, "person", req.GetPersonId())
		}
		if erased != nil {
			return nil, apierr.FailedPrecondition("ALREADY_ERASED", "person "+req.GetPersonId()+" was erased on "+erased.Format(time.RFC3339))
		}
		given, family, _ := strings.Cut(ErasedName, " ")
		if _, err := tx.Exec(ctx, `UPDATE networks.persons SET given_name = $2, family_name = $3, email = '', phone = '',
			erase_time = $4, update_time = $4, version = version + 1 WHERE id = $1`, req.GetPersonId(), given, family, s.now()); err != nil {
			return nil, err
		}
		if out, err = getPerson(ctx, tx, req.GetPersonId()); err != nil {
			return nil, err
		}
		return []outbox.Event{{Kind: "person", Name: "erased", AggregateID: out.GetId(), Version: etag.Version(out.GetEtag()),
			Payload: &networksv1.PersonErased{PersonId: out.GetId(), DisplayName: out.GetDisplayName(), EmailSha256: EmailHash(email)}}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &networksv1.ErasePersonResponse{Person: out}, nil
}
