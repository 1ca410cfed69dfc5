// Package cursor encodes change-feed cursors: the position of a change in the
// total order of the changes stream, made opaque so clients do not compute
// with it.
package cursor

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/verkosto/verkosto/internal/apierr"
)

const prefix = "c1."

// Encode makes the cursor after stream sequence seq.
func Encode(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(prefix + strconv.FormatUint(seq, 10)))
}

// Decode parses a cursor of the request field; "" is the start of the feed (0).
func Decode(field, c string) (uint64, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(b), prefix); ok {
			if seq, err := strconv.ParseUint(rest, 10, 64); err == nil {
				return seq, nil
			}
		}
	}
	return 0, apierr.InvalidArgument(field, "is not a cursor returned by Verkosto")
}
