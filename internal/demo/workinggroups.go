package demo

import (
	"context"
	"fmt"
	"net/http"

	"connectrpc.com/connect"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1/workinggroupsv1connect"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
)

// demoGroup is one working group of the demo region; Parent is the Key of
// its parent group, or "".
type demoGroup struct {
	Key, Programme, Parent, Municipality string
	Name, Mandate                        *commonv1.LocalizedText
	Start                                string
	Coordinator                          string // display name of the (fictional) coordinator
	// Seats reserved for the programme network's nominated representatives.
	Seats        int32
	WithDeputies bool
	// Members added directly, e.g. the welfare services county's experts.
	Members []demoGroupMember
}

type demoGroupMember struct {
	Name         string
	Role         workinggroupsv1.Member_Role
	Organisation string
}

// welfareArea is the organiser of social and health services in the region.
const welfareArea = "Pohjois-Pohjanmaan hyvinvointialue"

// demoGroups are the demo region's working groups, parents before their
// sub-groups. The coordinators and directly added members are fictional
// staff of the wellbeing services county: they are not registered as persons
// of the networks, so their person ids are made up here.
var demoGroups = []demoGroup{
	{
		Key: "asiakasohjaus", Programme: "ikaihmiset",
		Name: &commonv1.LocalizedText{
			Fi: "Asiakasohjauksen ja palveluohjauksen työryhmä",
			Sv: "Arbetsgruppen för klienthandledning och servicehandledning",
			En: "Client and Service Guidance Working Group",
		},
		Mandate: &commonv1.LocalizedText{
			Fi: "Mallintaa ja pilotoida ikäihmisten alueellinen asiakasohjauksen polku yhdessä järjestöjen kanssa.",
			Sv: "Modellera och pilotera den regionala klienthandledningsstigen för äldre tillsammans med organisationerna.",
			En: "Model and pilot the regional client guidance pathway for older people together with the associations.",
		},
		Start: "2026-01-15", Coordinator: "Hanna Koordinaattori",
		Seats: 2, WithDeputies: true,
		Members: []demoGroupMember{
			{Name: "Riitta Asiakasohjaaja", Role: workinggroupsv1.Member_ROLE_CHAIR, Organisation: welfareArea + ", ikäihmisten asiakasohjaus"},
			{Name: "Tuomas Suunnittelija", Role: workinggroupsv1.Member_ROLE_SECRETARY, Organisation: welfareArea},
			{Name: "Aili Kokemustoimija", Role: workinggroupsv1.Member_ROLE_EXPERIENCE_EXPERT},
		},
	},
	{
		Key: "mielenterveys", Programme: "mielenterveys",
		Name: &commonv1.LocalizedText{
			Fi: "Mielenterveys- ja päihdepalvelujen kehittämisen työryhmä",
			Sv: "Arbetsgruppen för utveckling av tjänster inom mental hälsa och missbruksvård",
			En: "Mental Health and Substance Abuse Services Development Working Group",
		},
		Mandate: &commonv1.LocalizedText{
			Fi: "Koota matalan kynnyksen mielenterveys- ja päihdetuen palveluketju, jossa järjestöjen vertaistuki on mukana.",
			En: "Build the low-threshold mental health and substance abuse support pathway with the associations' peer support in it.",
		},
		Start: "2026-02-01", Coordinator: "Mikko Koordinaattori", Seats: 2,
		Members: []demoGroupMember{
			{Name: "Sanna Palvelupäällikkö", Role: workinggroupsv1.Member_ROLE_CHAIR, Organisation: welfareArea + ", mielenterveys- ja päihdepalvelut"},
		},
	},
	{
		Key: "jarjestoyhteistyo", Programme: "mielenterveys", Parent: "mielenterveys",
		Name: &commonv1.LocalizedText{
			Fi: "Järjestöyhteistyön alatyöryhmä",
			Sv: "Underarbetsgruppen för samarbete med organisationer",
			En: "Sub-working Group on Cooperation with Associations",
		},
		Mandate: &commonv1.LocalizedText{
			Fi: "Sopia, miten järjestöjen vertaistuki ja kokemusasiantuntijat ohjataan osaksi palveluketjua.",
			En: "Agree how the associations' peer support and experts by experience become part of the service pathway.",
		},
		Start: "2026-03-01", Coordinator: "Mikko Koordinaattori", Seats: 3,
		Members: []demoGroupMember{
			{Name: "Jari Kokemusasiantuntija", Role: workinggroupsv1.Member_ROLE_EXPERIENCE_EXPERT},
		},
	},
	{
		Key: "oulu-lape", Programme: "lape", Municipality: "Oulu",
		Name: &commonv1.LocalizedText{
			Fi: "Oulun LAPE-työryhmä",
			Sv: "Uleåborgs LAPE-arbetsgrupp",
			En: "Oulu LAPE Working Group",
		},
		Mandate: &commonv1.LocalizedText{
			Fi: "Sovittaa Oulun perhekeskuksen, koulujen ja järjestöjen työ yhteen lasten ja perheiden hyvinvointisuunnitelmassa.",
			En: "Fit the work of Oulu's family centre, schools and associations together in the children's and families' wellbeing plan.",
		},
		Start: "2026-01-01", Coordinator: "Laura Koordinaattori", Seats: 2, WithDeputies: true,
		Members: []demoGroupMember{
			{Name: "Päivi Perhekeskus", Role: workinggroupsv1.Member_ROLE_CHAIR, Organisation: "Oulun kaupunki, perhekeskus"},
		},
	},
}

// loadWorkingGroups creates the demo region's working groups through the
// working groups service, with seat allocations for the programme networks
// (networks maps a programme to its network id). When the running process
// does not serve working groups (--services without it), there is nothing
// to load.
func loadWorkingGroups(ctx context.Context, baseURL, adminToken string, networks map[string]string) error {
	c := workinggroupsv1connect.NewWorkingGroupsServiceClient(http.DefaultClient, baseURL,
		connect.WithInterceptors(auth.BearerToken(adminToken)))
	created := map[string]string{} // key -> id
	people := map[string]string{}  // display name -> made-up person id, the same in every group
	person := func(name string) string {
		if people[name] == "" {
			people[name] = ids.New()
		}
		return people[name]
	}
	for _, d := range demoGroups {
		res, err := c.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{
			RequestId: "demo-working-group-" + d.Key,
			WorkingGroup: &workinggroupsv1.WorkingGroup{
				Region: Region, Programme: d.Programme, Municipality: d.Municipality, ParentId: created[d.Parent],
				Name: d.Name, Mandate: d.Mandate, StartDate: d.Start,
				CoordinatorPersonId: person(d.Coordinator), CoordinatorDisplayName: d.Coordinator,
			},
		})
		if connect.CodeOf(err) == connect.CodeUnimplemented {
			return nil
		}
		if err != nil {
			return fmt.Errorf("create working group %s: %w", d.Key, err)
		}
		g := res.GetWorkingGroup()
		created[d.Key] = g.GetId()
		if network := networks[d.Programme]; network != "" && d.Seats > 0 {
			if _, err := c.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: g.GetId(),
				SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: network, Seats: d.Seats, WithDeputies: d.WithDeputies}}); err != nil {
				return fmt.Errorf("seats of working group %s: %w", d.Key, err)
			}
		}
		for _, m := range d.Members {
			member := &workinggroupsv1.Member{WorkingGroupId: g.GetId(), PersonId: person(m.Name), PersonDisplayName: m.Name, Role: m.Role}
			if m.Organisation != "" {
				member.Represents = &workinggroupsv1.Member_Organisation{Organisation: m.Organisation}
			}
			if _, err := c.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: member}); err != nil {
				return fmt.Errorf("add %s to working group %s: %w", m.Name, d.Key, err)
			}
		}
	}
	return nil
}
