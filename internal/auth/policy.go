package auth

import (
	"fmt"
	"slices"
	"strings"
)

// Policy is who may call one RPC. The interceptor enforces Roles before the
// handler runs (a caller with no binding of these roles is denied without
// touching data); the handler then checks that the binding reaches the
// resource, as Rule says.
type Policy struct {
	// Roles whose bindings can reach some resource of the RPC.
	Roles []Role
	// Rule says which binding must reach which resource.
	Rule string
	// Public procedures admit callers without any credential (members of
	// the public registering to a public event); a call that does send a
	// credential is authenticated as any other, so a bad one is refused.
	Public bool
}

// Policies maps procedures ("/verkosto.networks.v1.NetworksService/GetNetwork")
// to their policies. A procedure without one is refused: authorization
// fails closed.
type Policies map[string]Policy

// All is every role: for RPCs every authenticated caller may use.
var All = Roles

// Allow is a Policy constructor for brevity in policy tables.
func Allow(rule string, roles ...Role) Policy { return Policy{Roles: roles, Rule: rule} }

// AllowPublic is a Policy that anonymous callers reach too.
func AllowPublic(rule string) Policy { return Policy{Roles: All, Rule: rule, Public: true} }

// Permits reports whether p has a binding of one of the policy's roles.
func (pol Policy) Permits(p *Principal) bool {
	return slices.ContainsFunc(p.Bindings, func(b Binding) bool { return slices.Contains(pol.Roles, b.Role) })
}

// Merge adds more policies; a procedure declared twice is a programming error.
func (ps Policies) Merge(more Policies) error {
	for proc, pol := range more {
		if _, dup := ps[proc]; dup {
			return fmt.Errorf("policy for %s declared twice", proc)
		}
		ps[proc] = pol
	}
	return nil
}

// RoleNames renders the policy's roles for documentation.
func (pol Policy) RoleNames() string {
	names := make([]string, len(pol.Roles))
	for i, r := range pol.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}
