package workinggroups_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1/workinggroupsv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/workinggroups"
)

const (
	region    = "pohjois-pohjanmaa"
	programme = "ikaihmiset"
	prefix    = "verkosto.changes." + region + "." + programme + ".working_group."
)

var ctx = context.Background()

func modules() []app.Module { return []app.Module{workinggroups.Module()} }

// setup is one test's Verkosto with the working groups service, an admin
// client and a client of the coordinator of region × programme.
type setup struct {
	*testenv.Env
	t           *testing.T
	admin       workinggroupsv1connect.WorkingGroupsServiceClient
	coordinator workinggroupsv1connect.WorkingGroupsServiceClient
}

func newSetup(t *testing.T, opts ...testenv.Options) *setup {
	t.Parallel()
	e := testenv.New(t, modules(), opts...)
	s := &setup{Env: e, t: t}
	s.admin = s.client(e.Admin())
	s.coordinator = s.as(auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: programme})
	return s
}

// client is a Connect client with the given credential.
func (s *setup) client(token string, opts ...connect.ClientOption) workinggroupsv1connect.WorkingGroupsServiceClient {
	if token != "" {
		opts = append(opts, connect.WithInterceptors(auth.BearerToken(token)))
	}
	return workinggroupsv1connect.NewWorkingGroupsServiceClient(s.HTTPClient(), s.URL, opts...)
}

// as is a client for a principal with the given bindings.
func (s *setup) as(bindings ...auth.Binding) workinggroupsv1connect.WorkingGroupsServiceClient {
	return s.client(s.Token(bindings...))
}

func text(fi string) *commonv1.LocalizedText { return &commonv1.LocalizedText{Fi: fi} }

// newGroup is a valid working group of region × programme.
func newGroup(name string) *workinggroupsv1.WorkingGroup {
	return &workinggroupsv1.WorkingGroup{
		Region: region, Programme: programme, Name: text(name),
		Mandate:   text("Mallintaa ja pilotoida ikäihmisten alueellinen asiakasohjauspolku"),
		StartDate: "2026-01-15", CoordinatorPersonId: ids.New(), CoordinatorDisplayName: "Kaisa Koordinaattori",
	}
}

// group creates a group as the coordinator; parent "" for a top-level group.
func (s *setup) group(name, parent string) *workinggroupsv1.WorkingGroup {
	s.t.Helper()
	g := newGroup(name)
	g.ParentId = parent
	res, err := s.coordinator.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: g})
	if err != nil {
		s.t.Fatalf("create working group %q: %v", name, err)
	}
	return res.GetWorkingGroup()
}

// member adds a person directly in role.
func (s *setup) member(groupID string, role workinggroupsv1.Member_Role, name string) *workinggroupsv1.Member {
	s.t.Helper()
	res, err := s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
		WorkingGroupId: groupID, PersonId: ids.New(), PersonDisplayName: name, Role: role,
	}})
	if err != nil {
		s.t.Fatalf("add member %q: %v", name, err)
	}
	return res.GetMember()
}

// wantCode fails unless err is a Connect error with code whose message
// contains every fragment.
func wantCode(t *testing.T, err error, code connect.Code, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v, got success", code)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("want a Connect error %v, got %v", code, err)
	}
	if ce.Code() != code {
		t.Fatalf("want code %v, got %v: %v", code, ce.Code(), ce.Message())
	}
	for _, f := range fragments {
		if !strings.Contains(ce.Message(), f) {
			t.Fatalf("error %q does not mention %q", ce.Message(), f)
		}
	}
}

// wantField fails unless err is INVALID_ARGUMENT with a field violation on field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	wantCode(t, err, connect.CodeInvalidArgument)
	var ce *connect.Error
	errors.As(err, &ce)
	var fields []string
	for _, d := range ce.Details() {
		v, err := d.Value()
		if err != nil {
			continue
		}
		if br, ok := v.(*errdetails.BadRequest); ok {
			for _, f := range br.GetFieldViolations() {
				if f.GetField() == field {
					return
				}
				fields = append(fields, f.GetField())
			}
		}
	}
	t.Fatalf("no violation of %s in %v (%v)", field, fields, ce.Message())
}

func fieldMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func clone[T proto.Message](m T) T { return proto.Clone(m).(T) }

func countSubject(list []testenv.Received, subject string) int {
	n := 0
	for _, r := range list {
		if r.Subject == subject {
			n++
		}
	}
	return n
}
