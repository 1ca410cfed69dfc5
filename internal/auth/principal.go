// Package auth authenticates bearer credentials and describes who is calling:
// a Principal with role bindings, each scoped to what it may touch.
package auth

import (
	"context"
	"fmt"
	"slices"
	"strings"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
)

// Role is what a binding lets a principal do.
type Role string

const (
	// RoleAdmin administers the whole platform.
	RoleAdmin Role = "admin"
	// RoleCoordinator coordinates one programme in one region.
	RoleCoordinator Role = "coordinator"
	// RoleLeader leads one network (a veturi).
	RoleLeader Role = "leader"
	// RoleAssociation is the contact person of one association.
	RoleAssociation Role = "association"
	// RolePartner is a partner system that reads, and follows changes, of
	// listed regions and programmes.
	RolePartner Role = "partner"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleCoordinator, RoleLeader, RoleAssociation, RolePartner}

// Binding grants a role over a scope. Which fields matter depends on the role:
// coordinator: Region and Programme; leader: Network; association:
// Association; partner: Region and Programme, where empty means every one.
type Binding struct {
	Role        Role   `json:"role"`
	Region      string `json:"region,omitempty"`
	Programme   string `json:"programme,omitempty"`
	Network     string `json:"network,omitempty"`
	Association string `json:"association,omitempty"`
}

// Validate checks that the binding has the scope its role needs.
func (b Binding) Validate() error {
	switch b.Role {
	case RoleAdmin:
		if b.Region != "" || b.Programme != "" || b.Network != "" || b.Association != "" {
			return fmt.Errorf("admin binding takes no scope")
		}
	case RoleCoordinator:
		if b.Region == "" || b.Programme == "" {
			return fmt.Errorf("coordinator binding needs region and programme")
		}
	case RoleLeader:
		if b.Network == "" {
			return fmt.Errorf("leader binding needs network")
		}
	case RoleAssociation:
		if b.Association == "" {
			return fmt.Errorf("association binding needs association")
		}
	case RolePartner:
		if b.Network != "" || b.Association != "" {
			return fmt.Errorf("partner binding takes only region and programme")
		}
	default:
		return fmt.Errorf("unknown role %q (one of admin, coordinator, leader, association, partner)", b.Role)
	}
	return nil
}

// String renders the binding as "role:key=value,...", the form the CLI takes.
func (b Binding) String() string {
	var parts []string
	for _, kv := range [][2]string{{"region", b.Region}, {"programme", b.Programme}, {"network", b.Network}, {"association", b.Association}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if len(parts) == 0 {
		return string(b.Role)
	}
	return string(b.Role) + ":" + strings.Join(parts, ",")
}

// ParseBinding reads "role" or "role:key=value,...".
func ParseBinding(s string) (Binding, error) {
	role, scope, _ := strings.Cut(s, ":")
	b := Binding{Role: Role(strings.TrimSpace(role))}
	if scope != "" {
		for _, kv := range strings.Split(scope, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || v == "" {
				return Binding{}, fmt.Errorf("scope %q: want key=value", kv)
			}
			switch strings.TrimSpace(k) {
			case "region":
				b.Region = v
			case "programme":
				b.Programme = v
			case "network":
				b.Network = v
			case "association":
				b.Association = v
			default:
				return Binding{}, fmt.Errorf("unknown scope key %q (region, programme, network, association)", k)
			}
		}
	}
	return b, b.Validate()
}

// Principal is an authenticated caller.
type Principal struct {
	// CredentialID identifies the credential used.
	CredentialID string
	// Name is the credential's display name.
	Name string
	// PersonID is the person behind the credential, when it is a person's.
	PersonID string
	Bindings []Binding
}

// System is the principal of background jobs.
var System = &Principal{CredentialID: "system", Name: "Verkosto"}

// Actor is the principal as recorded in a change; a caller without a
// credential (a public procedure) is "anonymous".
func (p *Principal) Actor() *changesv1.Actor {
	if p.CredentialID == "" {
		return &changesv1.Actor{Id: "anonymous", DisplayName: "public caller"}
	}
	return &changesv1.Actor{Id: p.CredentialID, DisplayName: p.Name, PersonId: p.PersonID}
}

func (p *Principal) has(match func(Binding) bool) bool {
	return slices.ContainsFunc(p.Bindings, match)
}

// IsAdmin reports a platform admin.
func (p *Principal) IsAdmin() bool {
	return p.has(func(b Binding) bool { return b.Role == RoleAdmin })
}

// Coordinates reports a coordinator of region × programme, or an admin.
func (p *Principal) Coordinates(region, programme string) bool {
	return p.IsAdmin() || p.has(func(b Binding) bool {
		return b.Role == RoleCoordinator && b.Region == region && b.Programme == programme
	})
}

// IsCoordinator reports a coordinator of any region × programme.
func (p *Principal) IsCoordinator() bool {
	return p.has(func(b Binding) bool { return b.Role == RoleCoordinator })
}

// Leads reports a leader binding on the network.
func (p *Principal) Leads(networkID string) bool {
	return p.has(func(b Binding) bool { return b.Role == RoleLeader && b.Network == networkID })
}

// IsLeader reports a leader binding on any network.
func (p *Principal) IsLeader() bool {
	return p.has(func(b Binding) bool { return b.Role == RoleLeader })
}

// ActsFor reports an association contact binding on the association.
func (p *Principal) ActsFor(associationID string) bool {
	return p.has(func(b Binding) bool { return b.Role == RoleAssociation && b.Association == associationID })
}

// IsAssociationContact reports an association contact binding on any association.
func (p *Principal) IsAssociationContact() bool {
	return p.has(func(b Binding) bool { return b.Role == RoleAssociation })
}

// AssociationIDs lists the associations the principal acts for.
func (p *Principal) AssociationIDs() []string {
	var out []string
	for _, b := range p.Bindings {
		if b.Role == RoleAssociation {
			out = append(out, b.Association)
		}
	}
	return out
}

// LedNetworks lists the networks the principal leads.
func (p *Principal) LedNetworks() []string {
	var out []string
	for _, b := range p.Bindings {
		if b.Role == RoleLeader {
			out = append(out, b.Network)
		}
	}
	return out
}

// Coordinated lists the region × programme pairs the principal coordinates,
// as parallel slices.
func (p *Principal) Coordinated() (regions, programmes []string) {
	for _, b := range p.Bindings {
		if b.Role == RoleCoordinator {
			regions = append(regions, b.Region)
			programmes = append(programmes, b.Programme)
		}
	}
	return regions, programmes
}

// PartnerReads reports a partner binding covering region × programme.
func (p *Principal) PartnerReads(region, programme string) bool {
	return p.has(func(b Binding) bool {
		return b.Role == RolePartner && (b.Region == "" || b.Region == region) && (b.Programme == "" || b.Programme == programme)
	})
}

// Reads reports whether the principal reads the register of region ×
// programme (networks, working groups, events, requests): everyone taking
// part reads every region; a partner the regions and programmes it lists.
func (p *Principal) Reads(region, programme string) bool {
	return p.Member() || p.PartnerReads(region, programme)
}

// IsPartner reports a partner binding.
func (p *Principal) IsPartner() bool {
	return p.has(func(b Binding) bool { return b.Role == RolePartner })
}

// Member reports any binding other than partner: people who take part in the
// networks (admins, coordinators, leaders, association contacts).
func (p *Principal) Member() bool {
	return p.has(func(b Binding) bool { return b.Role != RolePartner })
}

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// Caller is the principal of a call the interceptor authenticated; a
// principal without bindings (who may do nothing) otherwise.
func Caller(ctx context.Context) *Principal {
	if p := FromContext(ctx); p != nil {
		return p
	}
	return &Principal{}
}

// PartnerScope turns a partner's bindings into parallel region and programme
// lists ("" = any) for ScopeSQL; nil, nil for principals who take part in
// the networks and read every region.
func PartnerScope(p *Principal) (regions, programmes []string) {
	if p.Member() {
		return nil, nil
	}
	regions, programmes = []string{}, []string{}
	for _, b := range p.Bindings {
		if b.Role == RolePartner {
			regions = append(regions, b.Region)
			programmes = append(programmes, b.Programme)
		}
	}
	return regions, programmes
}

// ScopeSQL is the SQL condition matching the region and programme columns of
// table alias against a PartnerScope passed as two text[] parameters.
func ScopeSQL(alias string, regionsParam, programmesParam int) string {
	return fmt.Sprintf(`($%d::text[] IS NULL OR EXISTS (SELECT 1 FROM unnest($%d::text[], $%d::text[]) AS s(r, p)
		WHERE (s.r = '' OR s.r = %s.region) AND (s.p = '' OR s.p = %s.programme)))`,
		regionsParam, regionsParam, programmesParam, alias, alias)
}

// FromContext returns the principal of the call; nil when unauthenticated.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}
