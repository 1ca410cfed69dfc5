// Package etag renders resource versions as etags (AIP-154) and checks the
// etag a caller saw.
package etag

import (
	"strconv"

	"github.com/verkosto/verkosto/internal/apierr"
)

// Of is the etag of a version: the decimal version number.
func Of(version int64) string { return strconv.FormatInt(version, 10) }

// Version reads the version of an etag (0 if it is not one).
func Version(etag string) int64 {
	v, _ := strconv.ParseInt(etag, 10, 64)
	return v
}

// Check fails ABORTED when the caller sent an etag that is not current; an
// empty etag skips the check.
func Check(kind, id, got, current string) error {
	if got != "" && got != current {
		return apierr.StaleEtag(kind, id, got, current)
	}
	return nil
}
