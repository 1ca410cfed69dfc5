package networks

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/fieldmask"
)

// checkDigit is the Y-tunnus check digit of seven digits, written apart
// from ValidBusinessID as an oracle; ok is false for sums that have none.
func checkDigit(digits string) (byte, bool) {
	sum := 0
	for i, w := range []int{7, 9, 10, 5, 8, 4, 2} {
		sum += int(digits[i]-'0') * w
	}
	switch r := sum % 11; {
	case r == 0:
		return '0', true
	case r == 1:
		return 0, false
	default:
		return byte('0' + 11 - r), true
	}
}

var shape = regexp.MustCompile(`^[0-9]{7}-[0-9]$`)

// FuzzValidBusinessID: never panics; agrees with the oracle; a valid id
// stays valid when checked again and fails with any other check digit.
func FuzzValidBusinessID(f *testing.F) {
	for _, s := range []string{"0201256-6", "1572860-0", "0201256-5", "0000000-0", "1234567-1", "123456-7", "12345678", "０２０１２５６-６", "0201256-6\n", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		valid := ValidBusinessID(s)
		if valid != ValidBusinessID(s) {
			t.Fatalf("%q: not deterministic", s)
		}
		if !shape.MatchString(s) {
			if valid {
				t.Fatalf("%q accepted without the shape of a business id", s)
			}
			return
		}
		want, has := checkDigit(s[:7])
		if valid != (has && s[8] == want) {
			t.Fatalf("%q: ValidBusinessID %v, oracle says check digit %q (exists %v)", s, valid, want, has)
		}
		for d := byte('0'); d <= '9'; d++ {
			changed := s[:8] + string(d)
			if d != s[8] && valid && ValidBusinessID(changed) {
				t.Fatalf("%q valid, and so is %q with another check digit", s, changed)
			}
		}
		if has {
			if fixed := s[:8] + string(want); !ValidBusinessID(fixed) {
				t.Fatalf("%q has the oracle's check digit but is refused", fixed)
			}
		}
	})
}

// validateCreateAssociation is CreateAssociation's validation, as the
// handler runs it.
func validateCreateAssociation(req *networksv1.CreateAssociationRequest) error {
	a := req.GetAssociation()
	var v apierr.Violations
	if a == nil {
		v.Add("association", "is required")
	}
	checkAssociationFields(&v, a, fieldmask.All(associationPaths))
	check.ServerOwned(&v, "association", check.Set("id", a.GetId() != ""), check.Set("create_time", a.GetCreateTime() != nil),
		check.Set("update_time", a.GetUpdateTime() != nil), check.Set("etag", a.GetEtag() != ""))
	return v.Err()
}

var associationField = regexp.MustCompile(`^association(\.(name\.(fi|sv|en)|business_id|register_number|umbrella_organisation|municipalities(\[[0-9]+\])?|website|contact_email|id|etag))?$`)

// FuzzCreateAssociationValidation: the validation of CreateAssociation
// never panics, fails only INVALID_ARGUMENT naming real fields, and flags
// exactly the fields that are wrong where the rule is simple to restate.
func FuzzCreateAssociationValidation(f *testing.F) {
	f.Add("Oulun Mielenterveysseura ry", "", "", "0201256-6", "123.456", "MIELI ry", "Oulu", "https://example.org", "info@example.org", "")
	f.Add("", "Svenska", "English", "0201256-5", "", "", "", "ftp://example.org", "not an email", "")
	f.Add(" ", "", "", "", "", "", " ", "http://", "a@b", "x")
	f.Add("\xff", "", "", "1234567", strings.Repeat("9", 51), "", "Ii", "https://esimerkki.fi/yhdistys?x=1", "Name <a@b.fi>", "")
	f.Fuzz(func(t *testing.T, fi, sv, en, businessID, register, umbrella, municipality, website, email, id string) {
		a := &networksv1.Association{
			Id: id, Name: &commonv1.LocalizedText{Fi: fi, Sv: sv, En: en}, BusinessId: businessID, RegisterNumber: register,
			UmbrellaOrganisation: umbrella, Municipalities: []string{municipality}, Website: website, ContactEmail: email,
		}
		if len(register)%2 == 1 {
			a.CreateTime = timestamppb.Now() // server-owned: must be refused
		}
		err := validateCreateAssociation(&networksv1.CreateAssociationRequest{Association: a})
		flagged := map[string]bool{}
		if err != nil {
			var ce *connect.Error
			if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument {
				t.Fatalf("want invalid_argument, got %v", err)
			}
			for _, d := range ce.Details() {
				m, _ := d.Value()
				if br, ok := m.(*errdetails.BadRequest); ok {
					for _, fv := range br.GetFieldViolations() {
						if !associationField.MatchString(fv.GetField()) && fv.GetField() != "association.create_time" {
							t.Fatalf("violation names an unknown field %q", fv.GetField())
						}
						flagged[fv.GetField()] = true
					}
				}
			}
			if len(flagged) == 0 {
				t.Fatalf("invalid_argument without field violations: %v", err)
			}
		}
		expect := map[string]bool{
			"association.name.fi":     strings.TrimSpace(fi) == "" || !utf8.ValidString(fi) || utf8.RuneCountInString(fi) > 300,
			"association.name.sv":     !utf8.ValidString(sv) || utf8.RuneCountInString(sv) > 300,
			"association.business_id": businessID != "" && !ValidBusinessID(businessID),
			"association.id":          id != "",
			"association.create_time": a.CreateTime != nil,
		}
		for field, bad := range expect {
			if flagged[field] != bad {
				t.Fatalf("%s flagged %v, want %v (association %v)", field, flagged[field], bad, a)
			}
		}
	})
}
