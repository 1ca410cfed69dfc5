package changes

import (
	"regexp"
	"slices"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/outbox"
)

// maxSubjects bounds the filter subjects given to JetStream; beyond it the
// feed reads every change and filters here.
const maxSubjects = 256

var tokenPattern = regexp.MustCompile(`^([a-z0-9]+(-[a-z0-9]+)*|_)$`)
var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// scope is what a principal may read: region × programme pairs where ""
// matches any; changes of no region ("_") are reference data every reader sees.
type scope struct {
	all   bool
	pairs [][2]string
}

func scopeOf(p *auth.Principal) (scope, error) {
	if p.IsAdmin() {
		return scope{all: true}, nil
	}
	var s scope
	for _, b := range p.Bindings {
		switch b.Role {
		case auth.RolePartner, auth.RoleCoordinator:
			s.pairs = append(s.pairs, [2]string{b.Region, b.Programme})
		}
	}
	if len(s.pairs) == 0 {
		return s, apierr.PermissionDenied("the change feed is for partner systems, coordinators and admins")
	}
	return s, nil
}

func (s scope) allows(region, programme string) bool {
	if s.all || region == outbox.None {
		return true
	}
	return slices.ContainsFunc(s.pairs, func(p [2]string) bool {
		return (p[0] == "" || p[0] == region) && (p[1] == "" || p[1] == programme)
	})
}

// allowsRegion reports whether some pair covers region (for request checks).
func (s scope) allowsRegion(region string) bool {
	return s.all || region == outbox.None || slices.ContainsFunc(s.pairs, func(p [2]string) bool { return p[0] == "" || p[0] == region })
}

func (s scope) allowsProgramme(programme string) bool {
	return s.all || programme == outbox.None || slices.ContainsFunc(s.pairs, func(p [2]string) bool { return p[1] == "" || p[1] == programme })
}

// plan is a validated filter within a scope: the JetStream subjects to read
// and the exact match applied to each change.
type plan struct {
	scope    scope
	filter   *changesv1.ChangeFilter
	subjects []string
}

func newPlan(p *auth.Principal, f *changesv1.ChangeFilter) (*plan, error) {
	var v apierr.Violations
	for _, r := range f.GetRegions() {
		if !tokenPattern.MatchString(r) {
			v.Addf("filter.regions", "%q is not a region slug or _", r)
		}
	}
	for _, pr := range f.GetProgrammes() {
		if !tokenPattern.MatchString(pr) {
			v.Addf("filter.programmes", "%q is not a programme slug or _", pr)
		}
	}
	for _, k := range f.GetKinds() {
		if !kindPattern.MatchString(k) {
			v.Addf("filter.kinds", "%q is not a resource kind", k)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	sc, err := scopeOf(p)
	if err != nil {
		return nil, err
	}
	for _, r := range f.GetRegions() {
		if !sc.allowsRegion(r) {
			return nil, apierr.PermissionDenied("your credential does not cover region " + r)
		}
	}
	for _, pr := range f.GetProgrammes() {
		if !sc.allowsProgramme(pr) {
			return nil, apierr.PermissionDenied("your credential does not cover programme " + pr)
		}
	}
	regions := f.GetRegions()
	if len(regions) == 0 {
		regions = sc.regions()
	}
	programmes := f.GetProgrammes()
	if len(programmes) == 0 {
		programmes = sc.programmes()
	}
	kinds := f.GetKinds()
	if len(kinds) == 0 {
		kinds = []string{"*"}
	}
	var subjects []string
	if len(regions)*len(programmes)*len(kinds) <= maxSubjects {
		for _, r := range regions {
			for _, pr := range programmes {
				for _, k := range kinds {
					subjects = append(subjects, outbox.SubjectPrefix+"."+r+"."+pr+"."+k+".*")
				}
			}
		}
	} else {
		subjects = []string{outbox.SubjectPrefix + ".>"}
	}
	subjects = overlapFree(subjects)
	if len(subjects) == 1 && subjects[0] == outbox.SubjectPrefix+".*.*.*.*" {
		// Every change: the whole stream. JetStream counts what a consumer
		// has pending from a start sequence at once for the stream's own
		// subject, but message by message for a wildcard.
		subjects = []string{outbox.SubjectPrefix + ".>"}
	}
	return &plan{scope: sc, filter: f, subjects: subjects}, nil
}

// regions a scope reads, as subject tokens: "*" when any; "_" always.
func (s scope) regions() []string {
	if s.all {
		return []string{"*"}
	}
	out := []string{outbox.None}
	for _, p := range s.pairs {
		if p[0] == "" {
			return []string{"*"}
		}
		if !slices.Contains(out, p[0]) {
			out = append(out, p[0])
		}
	}
	return out
}

func (s scope) programmes() []string {
	if s.all {
		return []string{"*"}
	}
	out := []string{outbox.None}
	for _, p := range s.pairs {
		if p[1] == "" {
			return []string{"*"}
		}
		if !slices.Contains(out, p[1]) {
			out = append(out, p[1])
		}
	}
	return out
}

// overlapFree drops subjects another one of the list already covers:
// JetStream refuses overlapping filter subjects.
func overlapFree(subjects []string) []string {
	slices.Sort(subjects)
	subjects = slices.Compact(subjects)
	var out []string
	for _, s := range subjects {
		covered := false
		for _, o := range subjects {
			if o != s && covers(o, s) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, s)
		}
	}
	return out
}

// covers reports whether NATS subject pattern a matches everything b does.
func covers(a, b string) bool {
	at, bt := splitTokens(a), splitTokens(b)
	for i, t := range at {
		if t == ">" {
			return true
		}
		if i >= len(bt) {
			return false
		}
		if t != "*" && t != bt[i] {
			return false
		}
		if t == "*" && bt[i] == ">" {
			return false
		}
	}
	return len(at) == len(bt)
}

func splitTokens(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// match applies the exact filter and scope to one change.
func (p *plan) match(c *changesv1.Change) bool {
	if !p.scope.allows(c.GetRegion(), c.GetProgramme()) {
		return false
	}
	in := func(list []string, v string) bool { return len(list) == 0 || slices.Contains(list, v) }
	return in(p.filter.GetRegions(), c.GetRegion()) && in(p.filter.GetProgrammes(), c.GetProgramme()) && in(p.filter.GetKinds(), c.GetKind())
}
