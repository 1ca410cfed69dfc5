package changes

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/verkosto/verkosto/internal/apierr"
)

// A cursor is the stream sequence of the last change a client saw, made
// opaque so clients do not compute with it.
const cursorPrefix = "c1."

// EncodeCursor makes the cursor after stream sequence seq.
func EncodeCursor(seq uint64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatUint(seq, 10)))
}

// DecodeCursor parses a cursor; "" is the start of the feed (0).
func DecodeCursor(field, cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		if rest, ok := strings.CutPrefix(string(b), cursorPrefix); ok {
			if seq, err := strconv.ParseUint(rest, 10, 64); err == nil {
				return seq, nil
			}
		}
	}
	return 0, apierr.InvalidArgument(field, "is not a cursor returned by Verkosto")
}
