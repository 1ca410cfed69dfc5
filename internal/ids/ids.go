// Package ids makes and checks resource ids: UUIDv7, so ids sort by creation
// time and keyset pagination by id follows creation order.
package ids

import "github.com/google/uuid"

// New returns a new UUIDv7 as a string.
func New() string {
	return uuid.Must(uuid.NewV7()).String()
}

// Valid reports whether s is a UUID in canonical form.
func Valid(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && u.String() == s
}
