package all_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1/workinggroupsv1connect"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/all"
	"github.com/verkosto/verkosto/services/networks"
)

// Export and erasure end to end: after erasure the person's email is found
// nowhere in the database, nor in any change on the stream.
func TestExportAndErasure(t *testing.T) {
	e := testenv.New(t, all.Modules())
	ctx := context.Background()
	const email = "erase.me@example.org"
	adminToken := e.Admin()
	opts := []connect.ClientOption{connect.WithInterceptors(auth.BearerToken(adminToken))}
	nets := networksv1connect.NewNetworksServiceClient(e.HTTPClient(), e.URL, opts...)
	groups := workinggroupsv1connect.NewWorkingGroupsServiceClient(e.HTTPClient(), e.URL, opts...)
	events := eventsv1connect.NewEventsServiceClient(e.HTTPClient(), e.URL, opts...)

	a, err := nets.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{Name: &commonv1.LocalizedText{Fi: "Mielenvireys ry"}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := nets.CreatePerson(ctx, &networksv1.CreatePersonRequest{Person: &networksv1.Person{
		GivenName: "Erkki", FamilyName: "Esimerkki", Email: email, Phone: "+358 40 765 4321", AssociationIds: []string{a.GetAssociation().GetId()}}})
	if err != nil {
		t.Fatal(err)
	}
	personID := p.GetPerson().GetId()
	g, err := groups.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: &workinggroupsv1.WorkingGroup{
		Region: "pohjois-pohjanmaa", Programme: "mielenterveys", Name: &commonv1.LocalizedText{Fi: "Yhteistyöryhmä"},
		Mandate: &commonv1.LocalizedText{Fi: "Yhteistyö"}, StartDate: "2026-01-01", CoordinatorPersonId: personID, CoordinatorDisplayName: "Erkki Esimerkki"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groups.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
		WorkingGroupId: g.GetWorkingGroup().GetId(), PersonId: personID, PersonDisplayName: "Erkki Esimerkki",
		Role: workinggroupsv1.Member_ROLE_MEMBER, Represents: &workinggroupsv1.Member_AssociationId{AssociationId: a.GetAssociation().GetId()}}}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(72 * time.Hour).Truncate(time.Hour)
	ev, err := events.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: &eventsv1.Event{
		Organiser: &eventsv1.Organiser{Kind: eventsv1.Organiser_KIND_PROGRAMME, Region: "pohjois-pohjanmaa", Programme: "mielenterveys"},
		Title:     &commonv1.LocalizedText{Fi: "Avoin luento"}, Kind: eventsv1.Event_KIND_SEMINAR,
		StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(2 * time.Hour)),
		Place:     &eventsv1.Place{Address: "Torikatu 10", Municipality: "Oulu"},
		Audiences: []eventsv1.Event_Audience{eventsv1.Event_AUDIENCE_PUBLIC}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: ev.GetEvent().GetId()}); err != nil {
		t.Fatal(err)
	}
	// The person registers as themself; and once more from a public form
	// with the same email.
	self := eventsv1connect.NewEventsServiceClient(e.HTTPClient(), e.URL,
		connect.WithInterceptors(auth.BearerToken(e.TokenFor(personID, auth.Binding{Role: auth.RoleAssociation, Association: a.GetAssociation().GetId()}))))
	if _, err := self.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: ev.GetEvent().GetId(), PersonId: personID,
		DisplayName: "Erkki Esimerkki", DietaryNeeds: "gluteeniton"}); err != nil {
		t.Fatal(err)
	}
	anonymous := eventsv1connect.NewEventsServiceClient(e.HTTPClient(), e.URL)
	ev2, err := events.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: &eventsv1.Event{
		Organiser: &eventsv1.Organiser{Kind: eventsv1.Organiser_KIND_PROGRAMME, Region: "pohjois-pohjanmaa", Programme: "mielenterveys"},
		Title:     &commonv1.LocalizedText{Fi: "Toinen luento"}, Kind: eventsv1.Event_KIND_SEMINAR,
		StartTime: timestamppb.New(start), EndTime: timestamppb.New(start.Add(2 * time.Hour)),
		Place:     &eventsv1.Place{Address: "Torikatu 10", Municipality: "Oulu"},
		Audiences: []eventsv1.Event_Audience{eventsv1.Event_AUDIENCE_PUBLIC}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := events.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: ev2.GetEvent().GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := anonymous.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: ev2.GetEvent().GetId(),
		DisplayName: "Erkki E.", Email: "Erase.Me@example.org", Organisation: "Mielenvireys"}); err != nil {
		t.Fatal(err)
	}

	// Export: the person themself may; another association's contact may not.
	export, err := nets.ExportPersonData(ctx, &networksv1.ExportPersonDataRequest{PersonId: personID})
	if err != nil || export.GetPerson().GetEmail() != email || len(export.GetAssociations()) != 1 {
		t.Fatalf("export: %v %v", export, err)
	}
	other := networksv1connect.NewNetworksServiceClient(e.HTTPClient(), e.URL,
		connect.WithInterceptors(auth.BearerToken(e.Token(auth.Binding{Role: auth.RoleAssociation, Association: a.GetAssociation().GetId()}))))
	if _, err := other.ExportPersonData(ctx, &networksv1.ExportPersonDataRequest{PersonId: personID}); connect.CodeOf(err) != connect.CodePermissionDenied {
		t.Fatalf("export by another principal: %v", err)
	}

	erased, err := nets.ErasePerson(ctx, &networksv1.ErasePersonRequest{PersonId: personID})
	if err != nil {
		t.Fatal(err)
	}
	if erased.GetPerson().GetEmail() != "" || erased.GetPerson().GetDisplayName() != networks.ErasedName {
		t.Fatalf("erased person: %v", erased.GetPerson())
	}
	if _, err := nets.ErasePerson(ctx, &networksv1.ErasePersonRequest{PersonId: personID}); connect.CodeOf(err) != connect.CodeFailedPrecondition {
		t.Fatalf("second erasure: %v", err)
	}

	// The other services act on the erasure change; wait until nothing of
	// the person is left, in any table of any schema, or give up.
	// Names may stay in the change history (outbox and stream, kept for
	// their retention): changes carry a person's id and display name by
	// design, and the erasure change tells every reader to drop them.
	deadline := time.Now().Add(20 * time.Second)
	for {
		found := findEverywhere(t, e, []string{email, "765 4321", "gluteeniton"})
		for _, f := range findEverywhere(t, e, []string{"Esimerkki"}) {
			if !strings.Contains(f, ".outbox:") {
				found = append(found, f)
			}
		}
		if len(found) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still in the database after erasure: %v", found)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// History stays: the member is still there, as the erased person.
	members, err := groups.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: g.GetWorkingGroup().GetId()})
	if err != nil || len(members.GetMembers()) != 1 || members.GetMembers()[0].GetPersonDisplayName() != networks.ErasedName {
		t.Fatalf("members after erasure: %v %v", members, err)
	}
	// And no change on the stream ever carried the email.
	stream, err := e.JS.Stream(ctx, outbox.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		msg, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(bytes.ToLower(msg.Data), []byte(email)) {
			t.Fatalf("change %d on %s carries the email", seq, msg.Subject)
		}
	}
}

// findEverywhere searches every table of every schema for the texts.
func findEverywhere(t *testing.T, e *testenv.Env, texts []string) []string {
	t.Helper()
	ctx := context.Background()
	rows, err := e.Pool.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		t.Fatal(err)
	}
	type table struct{ schema, name string }
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var x table
		return x, r.Scan(&x.schema, &x.name)
	})
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, tb := range tables {
		ident := pgx.Identifier{tb.schema, tb.name}.Sanitize()
		for _, text := range texts {
			// Row text covers text columns; bytea columns (change payloads)
			// are searched as bytes.
			var n int
			if err := e.Pool.QueryRow(ctx, `SELECT count(*) FROM `+ident+` x WHERE position(lower($1) in lower(x::text)) > 0`,
				text).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 && strings.Contains(tb.name, "outbox") {
				if err := e.Pool.QueryRow(ctx, `SELECT count(*) FROM `+ident+` WHERE position(convert_to($1, 'UTF8') in payload) > 0`,
					text).Scan(&n); err != nil {
					t.Fatal(err)
				}
			}
			if n > 0 {
				found = append(found, tb.schema+"."+tb.name+": "+text)
			}
		}
	}
	return found
}
