// Package apierr builds the Connect errors Verkosto answers with, so every
// service speaks the same codes, reasons and field violations.
package apierr

import (
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Domain is the ErrorInfo domain of every Verkosto error.
const Domain = "verkosto.fi"

// Violations collects field violations of one request.
type Violations struct {
	list []*errdetails.BadRequest_FieldViolation
}

// Add records that field is invalid and why.
func (v *Violations) Add(field, description string) {
	v.list = append(v.list, &errdetails.BadRequest_FieldViolation{Field: field, Description: description})
}

// Addf is Add with formatting.
func (v *Violations) Addf(field, format string, args ...any) {
	v.Add(field, fmt.Sprintf(format, args...))
}

// Required records field as missing when value is empty.
func (v *Violations) Required(field, value string) {
	if value == "" {
		v.Add(field, "is required")
	}
}

// Empty reports whether no violation was recorded.
func (v *Violations) Empty() bool { return len(v.list) == 0 }

// Err is nil without violations, else an INVALID_ARGUMENT error whose
// message names every invalid field and whose details carry a BadRequest.
func (v *Violations) Err() error {
	if len(v.list) == 0 {
		return nil
	}
	msg := ""
	for i, f := range v.list {
		if i > 0 {
			msg += "; "
		}
		msg += f.Field + ": " + f.Description
	}
	err := connect.NewError(connect.CodeInvalidArgument, errors.New(msg))
	addDetail(err, &errdetails.BadRequest{FieldViolations: v.list})
	addDetail(err, &errdetails.ErrorInfo{Reason: "INVALID_ARGUMENT", Domain: Domain})
	return err
}

// InvalidArgument is a single-field validation error.
func InvalidArgument(field, description string) error {
	var v Violations
	v.Add(field, description)
	return v.Err()
}

// NotFound says the named resource does not exist.
func NotFound(kind, id string) error {
	return withReason(connect.CodeNotFound, "NOT_FOUND", fmt.Sprintf("%s %q not found", kind, id))
}

// IfNotFound maps a missing row to NOT_FOUND of the named resource and
// returns any other error as it is.
func IfNotFound(err error, kind, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return NotFound(kind, id)
	}
	return err
}

// Deny is PermissionDenied with formatting.
func Deny(format string, args ...any) error {
	return PermissionDenied(fmt.Sprintf(format, args...))
}

// AlreadyExists says a resource with the same identity exists.
func AlreadyExists(message string) error {
	return withReason(connect.CodeAlreadyExists, "ALREADY_EXISTS", message)
}

// FailedPrecondition is a forbidden state transition or a broken rule; reason
// is UPPER_SNAKE (e.g. "INVALID_STATE", "TOO_MANY_LEADERS").
func FailedPrecondition(reason, message string) error {
	return withReason(connect.CodeFailedPrecondition, reason, message)
}

// InvalidState is the FailedPrecondition of a state machine: it names the
// resource, its current state and what was attempted.
func InvalidState(kind, id, state, action string) error {
	return FailedPrecondition("INVALID_STATE",
		fmt.Sprintf("cannot %s %s %s: it is %s", action, kind, id, state))
}

// StaleEtag says the caller's etag is not the current one.
func StaleEtag(kind, id, got, current string) error {
	return withReason(connect.CodeAborted, "STALE_ETAG",
		fmt.Sprintf("%s %s changed: etag %q is stale, current is %q; read it again", kind, id, got, current))
}

// PermissionDenied says the caller's role bindings do not reach the resource.
func PermissionDenied(message string) error {
	return withReason(connect.CodePermissionDenied, "PERMISSION_DENIED", message)
}

// Unauthenticated says the request carried no valid credential.
func Unauthenticated(message string) error {
	return withReason(connect.CodeUnauthenticated, "UNAUTHENTICATED", message)
}

// Unavailable says a backing server is down; the caller may retry.
func Unavailable(message string) error {
	return withReason(connect.CodeUnavailable, "UNAVAILABLE", message)
}

// Internal hides an unexpected error from the caller; the cause is logged by
// the server's error interceptor, never sent.
func Internal(cause error) error {
	return connect.NewError(connect.CodeInternal, &hidden{cause: cause})
}

// Hidden reports the cause of an Internal error, for logging.
func Hidden(err error) (error, bool) {
	var h *hidden
	if errors.As(err, &h) {
		return h.cause, true
	}
	return nil, false
}

type hidden struct{ cause error }

func (h *hidden) Error() string { return "internal error" }
func (h *hidden) Unwrap() error { return h.cause }

func withReason(code connect.Code, reason, message string) error {
	err := connect.NewError(code, errors.New(message))
	addDetail(err, &errdetails.ErrorInfo{Reason: reason, Domain: Domain})
	return err
}

func addDetail(err *connect.Error, msg protoreflect.ProtoMessage) {
	d, e := connect.NewErrorDetail(msg)
	if e == nil {
		err.AddDetail(d)
	}
}
