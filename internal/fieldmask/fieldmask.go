// Package fieldmask checks update masks against the paths a caller may set.
package fieldmask

import (
	"fmt"
	"slices"
	"strings"

	"github.com/verkosto/verkosto/internal/apierr"
)

// Paths validates an update mask: it is required, and anything outside
// allowed (ids, states, server-owned fields) is refused, never ignored.
func Paths(paths []string, allowed []string) (map[string]bool, error) {
	if len(paths) == 0 {
		return nil, apierr.InvalidArgument("update_mask", "is required: list the fields to change ("+strings.Join(allowed, ", ")+")")
	}
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		if !slices.Contains(allowed, p) {
			return nil, apierr.InvalidArgument("update_mask", fmt.Sprintf("path %q cannot be changed (changeable: %s)", p, strings.Join(allowed, ", ")))
		}
		set[p] = true
	}
	return set, nil
}

// All is every path set, for checks of a create.
func All(paths []string) map[string]bool {
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		set[p] = true
	}
	return set
}
