package client_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/verkosto/verkosto/client"
	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/changes"
	"github.com/verkosto/verkosto/services/networks"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The mirror of the package example keeps up with a network's memberships.
func TestMirrorStaysInSync(t *testing.T) {
	e := testenv.New(t, []app.Module{networks.Module(), changes.Module()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := client.New(e.HTTPClient(), e.URL, e.Admin())
	n, err := admin.Networks.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: "pohjois-pohjanmaa", Programme: "lape"}})
	if err != nil {
		t.Fatal(err)
	}
	member := func(name string) *networksv1.Membership {
		a, err := admin.Networks.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{Name: &commonv1.LocalizedText{Fi: name}}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := admin.Networks.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: n.GetNetwork().GetId(), AssociationId: a.GetAssociation().GetId()})
		if err != nil {
			t.Fatal(err)
		}
		return m.GetMembership()
	}
	before := member("Ennen")
	partner := client.New(e.HTTPClient(), e.URL, e.Token(auth.Binding{Role: auth.RolePartner, Region: "pohjois-pohjanmaa", Programme: "lape"}))
	var mirror Mirror
	synced := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- mirror.Sync(ctx, partner, n.GetNetwork().GetId(), func() { close(synced) }) }()
	<-synced
	if mirror.Get(before.GetId()) == nil {
		t.Fatal("the listed membership is not in the copy")
	}
	var later []*networksv1.Membership
	for i := range 5 {
		later = append(later, member(fmt.Sprint("Jälkeen ", i)))
	}
	if _, err := admin.Networks.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: before.GetId()}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok := mirror.Get(before.GetId()).GetState() == networksv1.Membership_STATE_ACTIVE
		for _, m := range later {
			ok = ok && mirror.Get(m.GetId()) != nil
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the copy did not catch up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("sync: %v", err)
	}
}
