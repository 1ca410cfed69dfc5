package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
)

// defaultRegions are where the fixture networks live: not
// pohjois-pohjanmaa, so the load runs alongside the demo data set.
const defaultRegions = "kainuu,lappi,keski-pohjanmaa,pohjanmaa"

// fixture is what the reads and writes of a run touch: a network per
// programme in each fixture region, and a pool of associations.
type fixture struct {
	regions      []string
	networks     []*networksv1.Network
	associations []string
}

// minAssociations is how many associations the reads pick from.
const minAssociations = 100

// prepare finds the fixture data, creating what is missing: networks are
// unique per region × programme, so existing ones are reused.
func prepare(ctx context.Context, c networksv1connect.NetworksServiceClient, regions []string) (*fixture, error) {
	f := &fixture{regions: regions}
	progs, err := c.ListProgrammes(ctx, &networksv1.ListProgrammesRequest{})
	if err != nil {
		return nil, fmt.Errorf("list programmes: %w", err)
	}
	for _, region := range regions {
		var have []*networksv1.Network
		token := ""
		for {
			res, err := c.ListNetworks(ctx, &networksv1.ListNetworksRequest{Region: region, PageSize: 500, PageToken: token})
			if err != nil {
				return nil, fmt.Errorf("list networks of %s: %w", region, err)
			}
			have = append(have, res.GetNetworks()...)
			if token = res.GetNextPageToken(); token == "" {
				break
			}
		}
		for _, p := range progs.GetProgrammes() {
			i := slices.IndexFunc(have, func(n *networksv1.Network) bool { return n.GetProgramme() == p.GetSlug() })
			if i >= 0 {
				f.networks = append(f.networks, have[i])
				continue
			}
			res, err := c.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{
				Region: region, Programme: p.GetSlug(),
				Name: &commonv1.LocalizedText{Fi: p.GetName().GetFi() + ", " + region}}})
			if err != nil {
				return nil, fmt.Errorf("create network %s × %s: %w", region, p.GetSlug(), err)
			}
			f.networks = append(f.networks, res.GetNetwork())
		}
	}
	if len(f.networks) == 0 {
		return nil, fmt.Errorf("no fixture networks: no programmes?")
	}
	res, err := c.ListAssociations(ctx, &networksv1.ListAssociationsRequest{PageSize: 500})
	if err != nil {
		return nil, fmt.Errorf("list associations: %w", err)
	}
	for _, a := range res.GetAssociations() {
		f.associations = append(f.associations, a.GetId())
	}
	for i := len(f.associations); i < minAssociations; i++ {
		a, err := c.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{
			Name: &commonv1.LocalizedText{Fi: fmt.Sprintf("Kuormitusyhdistys %d", i+1)}, Municipalities: []string{"Kajaani"},
			ContactEmail: "kuormitus@example.org"}})
		if err != nil {
			return nil, fmt.Errorf("create association: %w", err)
		}
		f.associations = append(f.associations, a.GetAssociation().GetId())
	}
	return f, nil
}

// setup creates or finds the fixture and prints it, one "kind id ..." per
// line, for scripts (e.g. the network id a wrk run reads).
func setup(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("setup", flag.ExitOnError)
	var o clientOptions
	o.flags(fs)
	regions := fs.String("regions", defaultRegions, "fixture regions, separated by commas")
	fs.Parse(args) //nolint:errcheck // ExitOnError
	c, err := o.networks()
	if err != nil {
		return err
	}
	f, err := prepare(ctx, c, strings.Split(*regions, ","))
	if err != nil {
		return err
	}
	for _, n := range f.networks {
		fmt.Printf("network %s %s %s\n", n.GetId(), n.GetRegion(), n.GetProgramme())
	}
	for _, a := range f.associations {
		fmt.Printf("association %s\n", a)
	}
	return nil
}
