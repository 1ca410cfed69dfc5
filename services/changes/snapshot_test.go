package changes_test

import (
	"fmt"
	"strconv"
	"sync"
	"testing"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/auth"
)

// "List, then watch from the cursor the list returned" misses nothing and
// repeats nothing, even while writes go on during the list.
func TestListThenWatchFromItsCursor(t *testing.T) {
	s := newSetup(t)
	n := s.network("lape")
	var assocs []string
	for i := range 12 {
		res, err := s.admin.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{
			Name: nameFi(fmt.Sprint("Yhdistys ", i))}})
		if err != nil {
			t.Fatal(err)
		}
		assocs = append(assocs, res.GetAssociation().GetId())
	}
	// Writers apply and approve memberships while the partner lists.
	var wg sync.WaitGroup
	for _, a := range assocs {
		wg.Go(func() {
			m, err := s.admin.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: n.GetId(), AssociationId: a})
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := s.admin.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: m.GetMembership().GetId()}); err != nil {
				t.Error(err)
			}
		})
	}
	partner := s.Token(auth.Binding{Role: auth.RolePartner, Region: "pohjois-pohjanmaa", Programme: "lape"})
	nets := s.networksAs(partner)
	snapshot, err := nets.ListMemberships(ctx, &networksv1.ListMembershipsRequest{NetworkId: n.GetId(), PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if snapshot.GetChangeCursor() == "" {
		t.Fatal("the first page carries no change cursor")
	}
	local := map[string]int64{} // membership id -> version, the partner's copy
	for _, m := range snapshot.GetMemberships() {
		local[m.GetId()] = version(m.GetEtag())
	}
	feed := s.feed(nil, auth.Binding{Role: auth.RolePartner, Region: "pohjois-pohjanmaa", Programme: "lape"})
	s.waitPublished(uint64(1 + 12 + 2*12))
	after, _ := listAll(t, feed, snapshot.GetChangeCursor(), &changesv1.ChangeFilter{Kinds: []string{"network"}}, 0)
	for _, r := range after {
		c := r.GetChange()
		if c.GetChange() != "member_applied" && c.GetChange() != "member_approved" {
			continue
		}
		if have, ok := local[c.GetAggregateId()]; ok && c.GetAggregateVersion() <= have {
			t.Fatalf("change %s %s v%d repeats what the list already showed (v%d)", c.GetChange(), c.GetAggregateId(), c.GetAggregateVersion(), have)
		}
		if want := local[c.GetAggregateId()] + 1; c.GetAggregateVersion() != want {
			t.Fatalf("change %s of %s is v%d, the copy expected v%d: a change was missed", c.GetChange(), c.GetAggregateId(), c.GetAggregateVersion(), want)
		}
		local[c.GetAggregateId()] = c.GetAggregateVersion()
	}
	final, err := nets.ListMemberships(ctx, &networksv1.ListMembershipsRequest{NetworkId: n.GetId(), PageSize: 500})
	if err != nil {
		t.Fatal(err)
	}
	if len(final.GetMemberships()) != len(local) {
		t.Fatalf("copy has %d memberships, service %d", len(local), len(final.GetMemberships()))
	}
	for _, m := range final.GetMemberships() {
		if local[m.GetId()] != version(m.GetEtag()) {
			t.Fatalf("membership %s: copy at v%d, service at %s", m.GetId(), local[m.GetId()], m.GetEtag())
		}
	}
}

func version(etag string) int64 {
	v, _ := strconv.ParseInt(etag, 10, 64)
	return v
}
