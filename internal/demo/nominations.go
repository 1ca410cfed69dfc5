package demo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	"github.com/verkosto/verkosto/gen/verkosto/nominations/v1/nominationsv1connect"
	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1/workinggroupsv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

// perhekeskusverkosto is the regional family centre network, a body outside
// Verkosto that asks the LAPE network for representatives.
const perhekeskusverkosto = "Alueellinen perhekeskusverkosto"

// demoNomination is one person a network's leader nominates.
type demoNomination struct {
	Person, Association string // keys of the data set
	Seat                int32
	Deputy              bool
	Note                string
	Confirm             bool // accepted and confirmed; otherwise left PROPOSED
}

// loadNominations makes the demo's representation requests through the
// nominations service: the LAPE network's representatives to the regional
// family centre network (two seats with deputies, one confirmed with its
// deputy, one open), and the ikäihmiset network's seats in the client
// guidance working group with one proposed nomination. The nominations
// service learns leaders, memberships and persons from the networks
// service's changes, so the calls are retried briefly until it has them.
// When the running process does not serve nominations, there is nothing to
// load.
func (w *world) loadNominations() error {
	ctx := w.ctx
	admin := nominationsv1connect.NewNominationsServiceClient(http.DefaultClient, w.baseURL,
		connect.WithInterceptors(auth.BearerToken(w.admin)))
	// Temporary credentials of the nominating leaders and of the nominees'
	// associations, revoked when the demo data is in.
	var minted []string
	defer func() {
		for _, id := range minted {
			w.store.Revoke(context.WithoutCancel(ctx), id) //nolint:errcheck // best effort
		}
	}()
	as := func(name, personID string, b auth.Binding) (nominationsv1connect.NominationsServiceClient, error) {
		id, secret, err := w.store.Create(ctx, auth.NewCredential{Name: "demo loader: " + name, Kind: "personal", PersonID: personID,
			Bindings: []auth.Binding{b}, TTL: time.Hour})
		if err != nil {
			return nil, err
		}
		minted = append(minted, id)
		return nominationsv1connect.NewNominationsServiceClient(http.DefaultClient, w.baseURL,
			connect.WithInterceptors(auth.BearerToken(secret))), nil
	}

	now := time.Now().UTC().Truncate(24 * time.Hour)
	termStart := now.AddDate(0, 2, 0)
	lape, err := retry(ctx, func() (*nominationsv1.RepresentationRequest, error) {
		res, err := admin.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{
			RequestId: "demo-representation-request-perhekeskusverkosto",
			RepresentationRequest: &nominationsv1.RepresentationRequest{
				BodyName: &commonv1.LocalizedText{Fi: perhekeskusverkosto, Sv: "Regionalt familjecentralsnätverk",
					En: "Regional family centre network"},
				Region: Region, Programme: "lape", NetworkId: w.networks["lape"], Seats: 2, WithDeputies: true,
				Description: &commonv1.LocalizedText{
					Fi: "Kaksi järjestöjen edustajaa henkilökohtaisine varajäsenineen perhekeskusten alueelliseen verkostoon. " +
						"Toivomme kokemusta lapsiperheiden tuesta ja vertaistoiminnasta.",
					En: "Two representatives of the associations, each with a personal deputy, for the regional network of " +
						"family centres. Experience in supporting families with children and in peer support is hoped for.",
				},
				NominationDeadlineTime: timestamppb.New(now.AddDate(0, 1, 0)),
				TermStartTime:          timestamppb.New(termStart),
				TermEndTime:            timestamppb.New(termStart.AddDate(2, 0, 0)),
			},
		})
		return res.GetRepresentationRequest(), err
	})
	if connect.CodeOf(err) == connect.CodeUnimplemented {
		return nil
	}
	if err != nil {
		return fmt.Errorf("representation request of %s: %w", perhekeskusverkosto, err)
	}
	if err := w.nominate(admin, as, "lape", lape, []demoNomination{
		{Person: "maria-jarvinen", Association: "oetk", Seat: 1, Confirm: true,
			Note: "Vetää ensi- ja turvakodin perhetyötä ja vertaisryhmiä Oulussa."},
		{Person: "elina-saarinen", Association: "adhd", Seat: 1, Deputy: true, Confirm: true,
			Note: "Perheiden vertaistuen kouluttaja."},
	}); err != nil {
		return err
	}

	groups := workinggroupsv1connect.NewWorkingGroupsServiceClient(http.DefaultClient, w.baseURL,
		connect.WithInterceptors(auth.BearerToken(w.admin)))
	found, err := groups.ListWorkingGroups(ctx, &workinggroupsv1.ListWorkingGroupsRequest{Region: Region, Programme: "ikaihmiset"})
	if connect.CodeOf(err) == connect.CodeUnimplemented {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look for the client guidance working group: %w", err)
	}
	var group *workinggroupsv1.WorkingGroup
	for _, g := range found.GetWorkingGroups() {
		if g.GetName().GetFi() == demoGroups[0].Name.GetFi() {
			group = g
		}
	}
	if group == nil {
		return fmt.Errorf("the working group %q was not created", demoGroups[0].Name.GetFi())
	}
	seats := demoGroups[0]
	guidance, err := retry(ctx, func() (*nominationsv1.RepresentationRequest, error) {
		res, err := admin.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{
			RequestId: "demo-representation-request-asiakasohjaus",
			RepresentationRequest: &nominationsv1.RepresentationRequest{
				WorkingGroupId: group.GetId(), BodyName: group.GetName(),
				Region: Region, Programme: "ikaihmiset", NetworkId: w.networks["ikaihmiset"],
				Seats: seats.Seats, WithDeputies: seats.WithDeputies,
				Description: &commonv1.LocalizedText{
					Fi: "Järjestöjen edustajat asiakasohjauksen polun mallintamiseen: omaishoidon, vertaistuen tai " +
						"ikäihmisten palveluohjauksen kokemus.",
					En: "Representatives of the associations for modelling the client guidance pathway: experience in informal " +
						"care, peer support or service guidance for older people.",
				},
				NominationDeadlineTime: timestamppb.New(now.AddDate(0, 0, 21)),
				TermStartTime:          timestamppb.New(now.AddDate(0, 1, 0)),
				TermEndTime:            timestamppb.New(now.AddDate(1, 1, 0)),
			},
		})
		return res.GetRepresentationRequest(), err
	})
	if err != nil {
		return fmt.Errorf("representation request of the client guidance working group: %w", err)
	}
	return w.nominate(admin, as, "ikaihmiset", guidance, []demoNomination{
		{Person: "kari-lehtonen", Association: "osol", Seat: 1,
			Note: "Omaishoitajien vertaisryhmien ohjaaja, tuntee asiakasohjauksen arjen."},
	})
}

// nominate has the first leader of the programme's network propose each
// nomination, and accepts and confirms those marked so.
func (w *world) nominate(admin nominationsv1connect.NominationsServiceClient,
	as func(name, personID string, b auth.Binding) (nominationsv1connect.NominationsServiceClient, error),
	programme string, r *nominationsv1.RepresentationRequest, list []demoNomination) error {
	ctx := w.ctx
	var leaderKey string
	for _, p := range Persons {
		for _, prog := range p.LeaderOf {
			if prog == programme && leaderKey == "" {
				leaderKey = p.Key
			}
		}
	}
	leader, err := as("leader of "+programme, w.persons[leaderKey], auth.Binding{Role: auth.RoleLeader, Network: w.networks[programme]})
	if err != nil {
		return err
	}
	for _, d := range list {
		n, err := retry(ctx, func() (*nominationsv1.Nomination, error) {
			res, err := leader.CreateNomination(ctx, &nominationsv1.CreateNominationRequest{
				RequestId: "demo-nomination-" + r.GetId() + "-" + d.Person,
				Nomination: &nominationsv1.Nomination{RepresentationRequestId: r.GetId(), PersonId: w.persons[d.Person],
					AssociationId: w.associations[d.Association], Seat: d.Seat, Deputy: d.Deputy, Note: d.Note},
			})
			return res.GetNomination(), err
		})
		if err != nil {
			return fmt.Errorf("nominate %s: %w", d.Person, err)
		}
		if !d.Confirm {
			continue
		}
		contact, err := as("contact of "+d.Association, "", auth.Binding{Role: auth.RoleAssociation, Association: w.associations[d.Association]})
		if err != nil {
			return err
		}
		if _, err := contact.AcceptNomination(ctx, &nominationsv1.AcceptNominationRequest{Id: n.GetId()}); err != nil {
			return fmt.Errorf("accept the nomination of %s: %w", d.Person, err)
		}
		if _, err := admin.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: n.GetId()}); err != nil {
			return fmt.Errorf("confirm the nomination of %s: %w", d.Person, err)
		}
	}
	return nil
}

// retry calls fn until it succeeds, fails for a reason other than the
// nominations service not yet knowing what the networks service published
// (a network, a leader, a membership, a person), or 20 seconds pass.
func retry[T any](ctx context.Context, fn func() (T, error)) (T, error) {
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := fn()
		code := connect.CodeOf(err)
		if err == nil || (code != connect.CodeFailedPrecondition && code != connect.CodePermissionDenied) || time.Now().After(deadline) {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, errors.Join(err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
