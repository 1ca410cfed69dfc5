// Package reqid makes creates idempotent (AIP-155): a create carrying a
// request_id that was seen before returns the first result and writes nothing.
package reqid

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/db"
)

// Migration creates the request id table of one service schema.
const Migration = `
CREATE TABLE request_ids (
	principal    text NOT NULL,
	procedure    text NOT NULL,
	request_id   text NOT NULL,
	request_hash bytea NOT NULL,
	resource_id  text NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (principal, procedure, request_id)
);
`

// MaxLength bounds a request id.
const MaxLength = 128

// Key identifies one create call.
type Key struct {
	Schema    string
	Principal string
	Procedure string
	RequestID string
}

// Hash fingerprints a request (with its request_id cleared by the caller) so
// a reused id with a different request is told apart from a retry.
func Hash(req proto.Message) []byte {
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(req)
	h := sha256.Sum256(b)
	return h[:]
}

// Claim records that this call creates resourceID. When an earlier call with
// the same key exists it returns that call's resource id and claimed=false;
// a concurrent first call makes this one wait until it commits or rolls back.
// Without a request id it always claims.
func Claim(ctx context.Context, tx db.DBTX, k Key, hash []byte, resourceID string) (existing string, claimed bool, err error) {
	if k.RequestID == "" {
		return "", true, nil
	}
	if len(k.RequestID) > MaxLength {
		return "", false, apierr.InvalidArgument("request_id", fmt.Sprintf("must be at most %d characters", MaxLength))
	}
	table := pgx.Identifier{k.Schema, "request_ids"}.Sanitize()
	tag, err := tx.Exec(ctx, `INSERT INTO `+table+` (principal, procedure, request_id, request_hash, resource_id)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`, k.Principal, k.Procedure, k.RequestID, hash, resourceID)
	if err != nil {
		return "", false, fmt.Errorf("claim request id: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return "", true, nil
	}
	var prevHash []byte
	err = tx.QueryRow(ctx, `SELECT resource_id, request_hash FROM `+table+`
		WHERE principal = $1 AND procedure = $2 AND request_id = $3`, k.Principal, k.Procedure, k.RequestID).Scan(&existing, &prevHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, apierr.Unavailable("request id is being used by a concurrent call; retry")
	}
	if err != nil {
		return "", false, fmt.Errorf("read request id: %w", err)
	}
	if !bytes.Equal(prevHash, hash) {
		return "", false, apierr.InvalidArgument("request_id", "was already used for a different request")
	}
	return existing, false, nil
}
