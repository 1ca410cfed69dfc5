package credentials

import (
	"fmt"
	"strings"
	"time"

	credentialsv1 "github.com/verkosto/verkosto/gen/verkosto/credentials/v1"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/ids"
)

const (
	maxNameLength = 200
	maxBindings   = 50
	// maxLifetime bounds how far ahead a credential may expire.
	maxLifetime = 10 * 365 * 24 * time.Hour
)

var roles = map[credentialsv1.Binding_Role]auth.Role{
	credentialsv1.Binding_ROLE_ADMIN:       auth.RoleAdmin,
	credentialsv1.Binding_ROLE_COORDINATOR: auth.RoleCoordinator,
	credentialsv1.Binding_ROLE_LEADER:      auth.RoleLeader,
	credentialsv1.Binding_ROLE_ASSOCIATION: auth.RoleAssociation,
	credentialsv1.Binding_ROLE_PARTNER:     auth.RolePartner,
}

var kinds = map[credentialsv1.Credential_Kind]string{
	credentialsv1.Credential_KIND_PERSONAL: "personal",
	credentialsv1.Credential_KIND_PARTNER:  "partner",
}

// scope says which scope fields a role requires, allows or refuses.
type scope int

const (
	refused scope = iota
	optional
	required
)

// scopes of each role: region, programme, network_id, association_id.
var scopes = map[auth.Role][4]scope{
	auth.RoleAdmin:       {refused, refused, refused, refused},
	auth.RoleCoordinator: {required, required, refused, refused},
	auth.RoleLeader:      {refused, refused, required, refused},
	auth.RoleAssociation: {refused, refused, refused, required},
	auth.RolePartner:     {optional, optional, refused, refused},
}

// checkCreate validates a CreateCredentialRequest at now and returns what to
// mint; every invalid field is named.
func checkCreate(req *credentialsv1.CreateCredentialRequest, now time.Time) (auth.NewCredential, error) {
	var v apierr.Violations
	nc := auth.NewCredential{Name: req.GetName(), PersonID: req.GetPersonId()}
	if strings.TrimSpace(req.GetName()) == "" {
		v.Add("name", "is required")
	}
	check.Text(&v, "name", req.GetName(), maxNameLength)
	kind, kindOK := kinds[req.GetKind()]
	switch {
	case req.GetKind() == credentialsv1.Credential_KIND_UNSPECIFIED:
		v.Add("kind", "is required: KIND_PERSONAL or KIND_PARTNER")
	case !kindOK:
		v.Add("kind", "must be KIND_PERSONAL or KIND_PARTNER")
	}
	nc.Kind = kind
	check.OptionalID(&v, "person_id", req.GetPersonId())
	if kind == "partner" && req.GetPersonId() != "" {
		v.Add("person_id", "must be empty: a partner credential belongs to a system, not a person")
	}
	switch n := len(req.GetBindings()); {
	case n == 0:
		v.Add("bindings", "needs at least one binding")
	case n > maxBindings:
		v.Addf("bindings", "must list at most %d bindings", maxBindings)
	}
	for i, b := range req.GetBindings() {
		if i >= maxBindings {
			break
		}
		if ab, ok := checkBinding(&v, fmt.Sprintf("bindings[%d]", i), b, kind); ok {
			nc.Bindings = append(nc.Bindings, ab)
		}
	}
	switch e := req.GetExpiration().(type) {
	case *credentialsv1.CreateCredentialRequest_Ttl:
		ttl := e.Ttl
		switch {
		case ttl.CheckValid() != nil:
			v.Add("ttl", "must be a valid duration")
		case ttl.AsDuration() <= 0:
			v.Add("ttl", "must be positive")
		case ttl.AsDuration() > maxLifetime:
			v.Add("ttl", "must be at most ten years")
		default:
			nc.TTL = ttl.AsDuration()
		}
	case *credentialsv1.CreateCredentialRequest_ExpireTime:
		ts := e.ExpireTime
		switch {
		case ts.CheckValid() != nil:
			v.Add("expire_time", "must be a valid time")
		case !ts.AsTime().After(now):
			v.Add("expire_time", "must be in the future")
		case ts.AsTime().Sub(now) > maxLifetime:
			v.Add("expire_time", "must be at most ten years ahead")
		default:
			nc.ExpiresAt = ts.AsTime()
		}
	}
	return nc, v.Err()
}

// checkBinding validates one binding of a credential of kind ("" when the
// kind is invalid) and converts it.
func checkBinding(v *apierr.Violations, field string, b *credentialsv1.Binding, kind string) (auth.Binding, bool) {
	role, ok := roles[b.GetRole()]
	if !ok {
		if b.GetRole() == credentialsv1.Binding_ROLE_UNSPECIFIED {
			v.Add(field+".role", "is required")
		} else {
			v.Add(field+".role", "must be one of ROLE_ADMIN, ROLE_COORDINATOR, ROLE_LEADER, ROLE_ASSOCIATION, ROLE_PARTNER")
		}
		return auth.Binding{}, false
	}
	ok = true
	bad := func(f, msg string) {
		v.Add(f, msg)
		ok = false
	}
	switch {
	case kind == "partner" && role != auth.RolePartner:
		bad(field+".role", "must be ROLE_PARTNER: a partner credential has only partner bindings")
	case kind == "personal" && role == auth.RolePartner:
		bad(field+".role", "must not be ROLE_PARTNER on a personal credential: use KIND_PARTNER")
	}
	values := [4]string{b.GetRegion(), b.GetProgramme(), b.GetNetworkId(), b.GetAssociationId()}
	names := [4]string{"region", "programme", "network_id", "association_id"}
	for i, sc := range scopes[role] {
		f, val := field+"."+names[i], values[i]
		switch {
		case sc == refused && val != "":
			bad(f, fmt.Sprintf("must be empty: a %s binding takes no %s", role, names[i]))
		case sc == required && val == "":
			bad(f, fmt.Sprintf("is required for a %s binding", role))
		case val == "":
		case i < 2 && !check.ValidSlug(val):
			bad(f, fmt.Sprintf("must be a slug of lower-case letters, digits and single hyphens, e.g. %q", [2]string{"pohjois-pohjanmaa", "lape"}[i]))
		case i >= 2 && !ids.Valid(val):
			bad(f, "must be a UUID")
		}
	}
	ab := auth.Binding{Role: role, Region: b.GetRegion(), Programme: b.GetProgramme(), Network: b.GetNetworkId(), Association: b.GetAssociationId()}
	return ab, ok && ab.Validate() == nil
}
