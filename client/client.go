// Package client is the Go client for partner systems: typed Connect clients
// of Verkosto's services with a credential, and Follow, which keeps watching
// the change feed across disconnects, resuming exactly after the last change
// handled.
package client

import (
	"context"
	"errors"
	"net/http"
	"time"

	"connectrpc.com/connect"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	"github.com/verkosto/verkosto/gen/verkosto/changes/v1/changesv1connect"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

// Client reaches one Verkosto with one credential.
type Client struct {
	Networks networksv1connect.NetworksServiceClient
	Changes  changesv1connect.ChangeFeedServiceClient
}

// New returns a client of the Verkosto at baseURL (e.g.
// "http://127.0.0.1:8080") using the bearer secret token. httpClient may be
// nil for http.DefaultClient.
func New(httpClient *http.Client, baseURL, token string, opts ...connect.ClientOption) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	opts = append([]connect.ClientOption{connect.WithInterceptors(auth.BearerToken(token))}, opts...)
	return &Client{
		Networks: networksv1connect.NewNetworksServiceClient(httpClient, baseURL, opts...),
		Changes:  changesv1connect.NewChangeFeedServiceClient(httpClient, baseURL, opts...),
	}
}

// IsCursorExpired reports the feed's answer to a cursor older than what it
// keeps: list the resources again and follow from the cursor that list returns.
func IsCursorExpired(err error) bool {
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeFailedPrecondition {
		return false
	}
	for _, d := range ce.Details() {
		if v, err := d.Value(); err == nil {
			if info, ok := v.(interface{ GetReason() string }); ok && info.GetReason() == "CURSOR_EXPIRED" {
				return true
			}
		}
	}
	return false
}

// Handler receives each change in order. The record's cursor is where to
// resume after it; save it once the change is applied. A non-nil error stops
// Follow and is returned.
type Handler func(ctx context.Context, record *changesv1.ChangeRecord) error

// Follow watches the change feed from cursor until ctx ends, calling handle
// for every change in order and onPosition (if not nil) with the position of
// heartbeats. It reconnects after errors with backoff, resuming after the last
// change handled, so a change is neither missed nor handled twice by one
// Follow. It returns on ctx's end (nil), on handle's error, on permission or
// argument errors, and when the cursor expired (see IsCursorExpired).
func (c *Client) Follow(ctx context.Context, cursor string, filter *changesv1.ChangeFilter, handle Handler, onPosition func(cursor string)) error {
	backoff := 100 * time.Millisecond
	for {
		err := c.watchOnce(ctx, &cursor, filter, handle, onPosition, &backoff)
		if ctx.Err() != nil {
			return nil
		}
		var stop *stopError
		if errors.As(err, &stop) {
			return stop.err
		}
		switch connect.CodeOf(err) {
		case connect.CodePermissionDenied, connect.CodeUnauthenticated, connect.CodeInvalidArgument, connect.CodeFailedPrecondition:
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

type stopError struct{ err error }

func (s *stopError) Error() string { return s.err.Error() }

func (c *Client) watchOnce(ctx context.Context, cursor *string, filter *changesv1.ChangeFilter, handle Handler,
	onPosition func(string), backoff *time.Duration) error {
	stream, err := c.Changes.WatchChanges(ctx, &changesv1.WatchChangesRequest{Cursor: *cursor, Filter: filter})
	if err != nil {
		return err
	}
	defer stream.Close()
	for stream.Receive() {
		*backoff = 100 * time.Millisecond
		msg := stream.Msg()
		if hb := msg.GetHeartbeat(); hb != nil {
			if hb.GetCursor() != "" {
				*cursor = hb.GetCursor()
				if onPosition != nil {
					onPosition(*cursor)
				}
			}
			continue
		}
		rec := msg.GetChange()
		if rec == nil {
			continue
		}
		if err := handle(ctx, rec); err != nil {
			return &stopError{err}
		}
		*cursor = rec.GetCursor()
	}
	if err := stream.Err(); err != nil {
		return err
	}
	return connect.NewError(connect.CodeUnavailable, errors.New("watch ended"))
}
