// Package audit keeps the audit trail: every write and every denied call
// appends a record of who (credential), which RPC, which resource, the
// outcome, the request id and the time — ids only, never values of personal
// data.
package audit

import (
	"context"
	"embed"
	"log/slog"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/verkosto/verkosto/internal/ids"
)

// Schema owns the audit trail.
const Schema = "audit"

//go:embed migrations/*.sql
var Migrations embed.FS

// RequestIDHeader carries the request id, taken from the client or made here,
// and is echoed in the response.
const RequestIDHeader = "X-Request-Id"

// Record is one audited call.
type Record struct {
	Time          time.Time
	CredentialID  string
	PrincipalName string
	Procedure     string
	ResourceID    string
	Region        string
	Programme     string
	Outcome       string
	RequestID     string
}

// call collects what the inner layers learn about a call.
type call struct {
	mu                        sync.Mutex
	credentialID, name        string
	resourceID, region, progr string
}

type ctxKey struct{}

// NotePrincipal records who is calling; the auth interceptor calls it.
func NotePrincipal(ctx context.Context, credentialID, name string) {
	if c, ok := ctx.Value(ctxKey{}).(*call); ok {
		c.mu.Lock()
		c.credentialID, c.name = credentialID, name
		c.mu.Unlock()
	}
}

// NoteResource records the resource a write touched and its scope (the
// writer notes the aggregate of the first change).
func NoteResource(ctx context.Context, resourceID, region, programme string) {
	if c, ok := ctx.Value(ctxKey{}).(*call); ok {
		c.mu.Lock()
		if c.resourceID == "" {
			c.resourceID, c.region, c.progr = resourceID, region, programme
		}
		c.mu.Unlock()
	}
}

// Trail appends records in batches, off the request path.
type Trail struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	now    func() time.Time
	queue  chan Record
}

// NewTrail returns a trail writing to pool.
func NewTrail(pool *pgxpool.Pool, logger *slog.Logger, now func() time.Time) *Trail {
	return &Trail{pool: pool, logger: logger, now: now, queue: make(chan Record, 8192)}
}

// audited: every call that is not a read, and every denied call.
func audited(procedure string, code connect.Code) bool {
	if code == connect.CodePermissionDenied || code == connect.CodeUnauthenticated {
		return true
	}
	method := procedure[strings.LastIndexByte(procedure, '/')+1:]
	for _, read := range []string{"Get", "List", "Watch"} {
		if strings.HasPrefix(method, read) {
			return false
		}
	}
	return true
}

func (t *Trail) add(r Record) {
	select {
	case t.queue <- r:
	default:
		// The queue is full: write this one now rather than lose it.
		if err := t.insert(context.Background(), []Record{r}); err != nil {
			t.logger.Error("audit record lost", "procedure", r.Procedure, "err", err)
		}
	}
}

// Run writes queued records until ctx ends, then what is left.
func (t *Trail) Run(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var batch []Record
	flush := func(ctx context.Context) {
		if len(batch) == 0 {
			return
		}
		if err := t.insert(ctx, batch); err != nil {
			t.logger.Error("audit records not written; retrying", "count", len(batch), "err", err)
			return
		}
		batch = batch[:0]
	}
	for {
		select {
		case r := <-t.queue:
			batch = append(batch, r)
			if len(batch) >= 500 {
				flush(ctx)
			}
		case <-tick.C:
			flush(ctx)
		case <-ctx.Done():
			for {
				select {
				case r := <-t.queue:
					batch = append(batch, r)
				default:
					sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					flush(sctx)
					cancel()
					return nil
				}
			}
		}
	}
}

// Flush waits until queued records are written (tests).
func (t *Trail) Flush(ctx context.Context) {
	for len(t.queue) > 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(150 * time.Millisecond)
}

func (t *Trail) insert(ctx context.Context, batch []Record) error {
	rows := make([][]any, len(batch))
	for i, r := range batch {
		rows[i] = []any{r.Time, r.CredentialID, r.PrincipalName, r.Procedure, r.ResourceID, r.Region, r.Programme, r.Outcome, r.RequestID}
	}
	_, err := t.pool.CopyFrom(ctx, pgx.Identifier{Schema, "records"},
		[]string{"time", "credential_id", "principal_name", "procedure", "resource_id", "region", "programme", "outcome", "request_id"},
		pgx.CopyFromRows(rows))
	return err
}

// Interceptor records audited calls. It runs outside authentication, so it
// sees calls the auth interceptor refuses.
func (t *Trail) Interceptor() connect.Interceptor { return &interceptor{t} }

type interceptor struct{ t *Trail }

func (i *interceptor) begin(ctx context.Context, header interface{ Get(string) string }) (context.Context, *call, string) {
	reqID := header.Get(RequestIDHeader)
	if reqID == "" || len(reqID) > 128 {
		reqID = ids.New()
	}
	c := &call{}
	return context.WithValue(ctx, ctxKey{}, c), c, reqID
}

func (i *interceptor) end(procedure, reqID string, c *call, req proto.Message, err error) {
	var code connect.Code
	outcome := "ok"
	if err != nil {
		code = connect.CodeOf(err)
		outcome = code.String()
	}
	if !audited(procedure, code) {
		return
	}
	c.mu.Lock()
	r := Record{Time: i.t.now(), CredentialID: c.credentialID, PrincipalName: c.name, Procedure: procedure,
		ResourceID: c.resourceID, Region: c.region, Programme: c.progr, Outcome: outcome, RequestID: reqID}
	c.mu.Unlock()
	if r.ResourceID == "" && req != nil {
		r.ResourceID = resourceOf(req)
	}
	i.t.add(r)
}

func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		ctx, c, reqID := i.begin(ctx, req.Header())
		res, err := next(ctx, req)
		if res != nil {
			res.Header().Set(RequestIDHeader, reqID)
		} else if ce, ok := err.(*connect.Error); ok {
			ce.Meta().Set(RequestIDHeader, reqID)
		}
		msg, _ := req.Any().(proto.Message)
		i.end(req.Spec().Procedure, reqID, c, msg, err)
		return res, err
	}
}

func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, c, reqID := i.begin(ctx, conn.RequestHeader())
		conn.ResponseHeader().Set(RequestIDHeader, reqID)
		err := next(ctx, conn)
		i.end(conn.Spec().Procedure, reqID, c, nil, err)
		return err
	}
}

// resourceOf finds the id a request names: its "id", else the id of its
// first message field (the resource of an update), else its first *_id.
func resourceOf(m proto.Message) string {
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	if f := fields.ByName("id"); f != nil && f.Kind() == protoreflect.StringKind {
		if v := r.Get(f).String(); v != "" {
			return v
		}
	}
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() == protoreflect.MessageKind && !f.IsList() && !f.IsMap() && r.Has(f) {
			inner := r.Get(f).Message()
			if idf := inner.Descriptor().Fields().ByName("id"); idf != nil && idf.Kind() == protoreflect.StringKind {
				if v := inner.Get(idf).String(); v != "" {
					return v
				}
			}
		}
	}
	for i := range fields.Len() {
		f := fields.Get(i)
		if f.Kind() == protoreflect.StringKind && !f.IsList() && strings.HasSuffix(string(f.Name()), "_id") && f.Name() != "request_id" {
			if v := r.Get(f).String(); v != "" {
				return v
			}
		}
	}
	return ""
}
