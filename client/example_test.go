package client_test

import (
	"context"
	"log"
	"strconv"
	"sync"

	"github.com/verkosto/verkosto/client"
	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
)

// Mirror is a partner's local copy of one network's memberships.
type Mirror struct {
	mu          sync.Mutex
	Memberships map[string]*networksv1.Membership
	// Cursor is where to resume; a real partner stores it with the copy.
	Cursor string
}

// Sync fills the mirror from a list and keeps it in sync from the change feed
// until ctx ends: list every page (the first carries the cursor consistent
// with the data), then follow the feed from that cursor, applying each change
// whose aggregate version is newer than the copy's.
func (m *Mirror) Sync(ctx context.Context, c *client.Client, networkID string, synced func()) error {
	m.Memberships = map[string]*networksv1.Membership{}
	token := ""
	for {
		res, err := c.Networks.ListMemberships(ctx, &networksv1.ListMembershipsRequest{NetworkId: networkID, PageToken: token})
		if err != nil {
			return err
		}
		if token == "" {
			m.Cursor = res.GetChangeCursor()
		}
		m.mu.Lock()
		for _, x := range res.GetMemberships() {
			m.Memberships[x.GetId()] = x
		}
		m.mu.Unlock()
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	if synced != nil {
		synced()
	}
	apply := func(ctx context.Context, rec *changesv1.ChangeRecord) error {
		var x networksv1.Membership
		if rec.GetChange().GetPayload().MessageIs(&x) {
			if err := rec.GetChange().GetPayload().UnmarshalTo(&x); err != nil {
				return err
			}
			if x.GetNetworkId() == networkID {
				m.mu.Lock()
				// The etag is the version: skip what the copy already has.
				if have, ok := m.Memberships[x.GetId()]; !ok || version(have.GetEtag()) < rec.GetChange().GetAggregateVersion() {
					m.Memberships[x.GetId()] = &x
				}
				m.mu.Unlock()
			}
		}
		m.Cursor = rec.GetCursor()
		return nil
	}
	filter := &changesv1.ChangeFilter{Kinds: []string{"network"}}
	err := c.Follow(ctx, m.Cursor, filter, apply, func(cursor string) { m.Cursor = cursor })
	if client.IsCursorExpired(err) {
		return m.Sync(ctx, c, networkID, synced) // too far behind: start over
	}
	return err
}

func version(etag string) int64 {
	v, _ := strconv.ParseInt(etag, 10, 64)
	return v
}

// Get returns the copy of one membership.
func (m *Mirror) Get(id string) *networksv1.Membership {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.Memberships[id]
}

// A partner system keeps a local copy of a network's memberships in sync.
func Example() {
	ctx := context.Background()
	c := client.New(nil, "http://127.0.0.1:8080", "vk_...partner secret...")
	var m Mirror
	if err := m.Sync(ctx, c, "01934d2e-...network id...", nil); err != nil {
		log.Fatal(err)
	}
}
