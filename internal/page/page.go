// Package page implements list pagination (AIP-158): page sizes with a
// default and a clamp, and opaque page tokens that carry the keyset position
// and a fingerprint of the filter they were made for.
package page

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strings"

	"github.com/verkosto/verkosto/internal/apierr"
)

const (
	// DefaultSize is used when a request leaves page_size at zero.
	DefaultSize = 50
	// MaxSize is the largest page; larger requests are clamped to it.
	MaxSize = 500
)

// Size validates a requested page size and applies the default and clamp.
func Size(requested int32) (int, error) {
	switch {
	case requested < 0:
		return 0, apierr.InvalidArgument("page_size", "must not be negative")
	case requested == 0:
		return DefaultSize, nil
	case requested > MaxSize:
		return MaxSize, nil
	}
	return int(requested), nil
}

// Token is the decoded position of a page: the sort key of the last item of
// the previous page.
type Token struct {
	// After is the last key seen (an id, or a composite key joined by the caller).
	After string `json:"a"`
	// Filter fingerprints the request's filters: a token is valid only with the
	// filters it was made for.
	Filter uint64 `json:"f"`
}

// Fingerprint hashes the filter values of a list request.
func Fingerprint(filters ...string) uint64 {
	h := sha256.Sum256([]byte(strings.Join(filters, "\x00")))
	return binary.BigEndian.Uint64(h[:8])
}

// Encode makes the opaque page token for the next page.
func Encode(after string, filter uint64) string {
	b, _ := json.Marshal(Token{After: after, Filter: filter})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode parses a page token made for the given filter; an empty token is the
// first page and returns "".
func Decode(token string, filter uint64) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return "", apierr.InvalidArgument("page_token", "is not a valid page token")
	}
	var t Token
	if err := json.Unmarshal(b, &t); err != nil || t.After == "" {
		return "", apierr.InvalidArgument("page_token", "is not a valid page token")
	}
	if t.Filter != filter {
		return "", apierr.InvalidArgument("page_token", "was made for a request with other filters")
	}
	return t.After, nil
}

// Trim cuts a page fetched with limit size+1 to size and returns the token
// of the next page ("" on the last), keyed by the last item's id.
func Trim[T interface{ GetId() string }](list []T, size int, filter uint64) ([]T, string) {
	return TrimBy(list, size, filter, T.GetId)
}

// TrimBy is Trim for lists keyed by something else than the id.
func TrimBy[T any](list []T, size int, filter uint64, key func(T) string) ([]T, string) {
	if len(list) <= size {
		return list, ""
	}
	list = list[:size]
	return list, Encode(key(list[size-1]), filter)
}
