package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

// Region is the demo region.
const Region = "pohjois-pohjanmaa"

// Config is where the demo data goes.
type Config struct {
	// BaseURL of a running Verkosto; the data goes in through its RPCs, so
	// it is validated and its changes are published like any other.
	BaseURL string
	// Pool mints the demo credentials directly, as `verkosto token create` does.
	Pool   *pgxpool.Pool
	Logger *slog.Logger
	// Out receives the credentials and example calls.
	Out io.Writer
}

// Credential is one demo role's secret.
type Credential struct {
	Role, Name, Secret string
}

// Load puts the demo data set into a running Verkosto (once: a second run
// finds the networks and only mints fresh credentials) and prints a
// credential for every role.
func Load(ctx context.Context, cfg Config) error {
	if err := validate(); err != nil {
		return fmt.Errorf("demo data set: %w", err)
	}
	store := auth.NewStore(cfg.Pool, nil)
	mint := func(name string, personID string, bindings ...auth.Binding) (string, error) {
		// Old demo credentials of the same name stop working: their secrets
		// were printed once and are not kept.
		if err := store.RevokeByName(ctx, name); err != nil {
			return "", err
		}
		kind := "personal"
		if bindings[0].Role == auth.RolePartner {
			kind = "partner"
		}
		_, secret, err := store.Create(ctx, auth.NewCredential{Name: name, Kind: kind, PersonID: personID, Bindings: bindings})
		return secret, err
	}
	admin, err := mint("demo admin", "", auth.Binding{Role: auth.RoleAdmin})
	if err != nil {
		return err
	}
	client := networksv1connect.NewNetworksServiceClient(http.DefaultClient, cfg.BaseURL, connect.WithInterceptors(auth.BearerToken(admin)))
	w := &world{ctx: ctx, nets: client, networks: map[string]string{}, associations: map[string]string{}, persons: map[string]string{},
		baseURL: cfg.BaseURL, admin: admin, store: store}
	existing, err := client.ListNetworks(ctx, &networksv1.ListNetworksRequest{Region: Region})
	if err != nil {
		return fmt.Errorf("look for demo networks: %w", err)
	}
	if len(existing.GetNetworks()) > 0 {
		cfg.Logger.Info("demo data already loaded; minting fresh demo credentials")
		if err := w.find(existing.GetNetworks()); err != nil {
			return err
		}
	} else if err := w.load(); err != nil {
		return err
	}

	lapeNetwork := w.networks["lape"]
	leader := Persons[0]
	for _, p := range Persons {
		if slices.Contains(p.LeaderOf, "lape") {
			leader = p
			break
		}
	}
	creds := []Credential{{Role: "admin", Name: "demo admin", Secret: admin}}
	add := func(role, name, personID string, b ...auth.Binding) error {
		secret, err := mint(name, personID, b...)
		if err != nil {
			return err
		}
		creds = append(creds, Credential{Role: role, Name: name, Secret: secret})
		return nil
	}
	if err := add("coordinator", "demo coordinator (Pohjois-Pohjanmaa × LAPE)", "",
		auth.Binding{Role: auth.RoleCoordinator, Region: Region, Programme: "lape"}); err != nil {
		return err
	}
	if err := add("leader", fmt.Sprintf("demo leader %s %s (LAPE network)", leader.Given, leader.Family), w.persons[leader.Key],
		auth.Binding{Role: auth.RoleLeader, Network: lapeNetwork}); err != nil {
		return err
	}
	if err := add("association", "demo association contact ("+Associations[0].NameFi+")", "",
		auth.Binding{Role: auth.RoleAssociation, Association: w.associations[Associations[0].Key]}); err != nil {
		return err
	}
	if err := add("partner", "demo partner (Pohjois-Pohjanmaa)", "",
		auth.Binding{Role: auth.RolePartner, Region: Region}); err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "\nDemo data for %s is loaded. Demo credentials (shown once; a new `verkosto demo` mints new ones):\n\n", Region)
	for _, c := range creds {
		fmt.Fprintf(cfg.Out, "  %-12s %s\n               %s\n", c.Role, c.Name, c.Secret)
	}
	fmt.Fprintf(cfg.Out, "\nTry:\n  grpcurl -plaintext -H 'Authorization: Bearer %s' -d '{\"region\":\"%s\"}' %s verkosto.networks.v1.NetworksService/ListNetworks\n\n",
		creds[len(creds)-1].Secret, Region, hostOf(cfg.BaseURL))
	return nil
}

func hostOf(baseURL string) string {
	for _, p := range []string{"http://", "https://"} {
		if len(baseURL) > len(p) && baseURL[:len(p)] == p {
			return baseURL[len(p):]
		}
	}
	return baseURL
}

// world maps the data set's keys to the ids the services gave them.
type world struct {
	ctx          context.Context
	nets         networksv1connect.NetworksServiceClient
	networks     map[string]string // programme -> network id
	associations map[string]string // key -> id
	persons      map[string]string // key -> id
	baseURL      string            // of the running Verkosto
	admin        string            // the demo admin credential
	store        *auth.Store       // mints the loaders' own credentials
}

func (w *world) load() error {
	ctx := w.ctx
	for _, n := range Networks {
		res, err := w.nets.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{
			Region: Region, Programme: n.Programme,
			Name:        &commonv1.LocalizedText{Fi: n.NameFi, Sv: n.NameSv, En: n.NameEn},
			Description: &commonv1.LocalizedText{Fi: n.DescFi, Sv: n.DescSv, En: n.DescEn},
		}})
		if err != nil {
			return fmt.Errorf("create network %s: %w", n.Programme, err)
		}
		w.networks[n.Programme] = res.GetNetwork().GetId()
	}
	for _, a := range Associations {
		res, err := w.nets.CreateAssociation(ctx, &networksv1.CreateAssociationRequest{Association: &networksv1.Association{
			Name:       &commonv1.LocalizedText{Fi: a.NameFi, Sv: a.NameSv, En: a.NameEn},
			BusinessId: a.BusinessID, UmbrellaOrganisation: a.Umbrella, Municipalities: a.Municipalities,
			Website: a.Website, ContactEmail: a.Email,
		}})
		if err != nil {
			return fmt.Errorf("create association %s: %w", a.Key, err)
		}
		id := res.GetAssociation().GetId()
		w.associations[a.Key] = id
		for _, prog := range a.Networks {
			m, err := w.nets.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: w.networks[prog], AssociationId: id,
				ApplicationNote: "Haemme jäsenyyttä verkostoon."})
			if err != nil {
				return fmt.Errorf("apply %s to %s: %w", a.Key, prog, err)
			}
			if _, err := w.nets.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: m.GetMembership().GetId()}); err != nil {
				return fmt.Errorf("approve %s in %s: %w", a.Key, prog, err)
			}
		}
		for _, prog := range a.Pending {
			if _, err := w.nets.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: w.networks[prog], AssociationId: id,
				ApplicationNote: "Toimimme alueella ja haluamme mukaan verkoston työhön."}); err != nil {
				return fmt.Errorf("apply %s to %s: %w", a.Key, prog, err)
			}
		}
	}
	for _, p := range Persons {
		var assocIDs []string
		for _, k := range p.Associations {
			assocIDs = append(assocIDs, w.associations[k])
		}
		res, err := w.nets.CreatePerson(ctx, &networksv1.CreatePersonRequest{Person: &networksv1.Person{
			GivenName: p.Given, FamilyName: p.Family, Email: p.Email, Phone: p.Phone, AssociationIds: assocIDs,
		}})
		if err != nil {
			return fmt.Errorf("create person %s: %w", p.Key, err)
		}
		w.persons[p.Key] = res.GetPerson().GetId()
		for _, prog := range p.LeaderOf {
			assoc := ""
			for _, k := range p.Associations {
				if a := associationByKey(k); a != nil && slices.Contains(a.Networks, prog) {
					assoc = w.associations[k]
					break
				}
			}
			if _, err := w.nets.AppointLeader(ctx, &networksv1.AppointLeaderRequest{
				NetworkId: w.networks[prog], PersonId: w.persons[p.Key], AssociationId: assoc,
			}); err != nil {
				return fmt.Errorf("appoint %s to lead %s: %w", p.Key, prog, err)
			}
		}
	}
	if err := loadWorkingGroups(ctx, w.baseURL, w.admin, w.networks); err != nil {
		return err
	}
	if err := loadEvents(ctx, w.baseURL, w.admin, w.networks); err != nil {
		return err
	}
	return w.loadNominations()
}

// find recovers the ids of an earlier load by names.
func (w *world) find(networks []*networksv1.Network) error {
	for _, n := range networks {
		w.networks[n.GetProgramme()] = n.GetId()
	}
	for _, a := range Associations {
		res, err := w.nets.ListAssociations(w.ctx, &networksv1.ListAssociationsRequest{Query: a.NameFi, PageSize: 5})
		if err != nil {
			return err
		}
		for _, x := range res.GetAssociations() {
			if x.GetName().GetFi() == a.NameFi {
				w.associations[a.Key] = x.GetId()
			}
		}
	}
	for _, p := range Persons {
		res, err := w.nets.ListPersons(w.ctx, &networksv1.ListPersonsRequest{Query: p.Given + " " + p.Family, PageSize: 5})
		if err != nil {
			return err
		}
		if len(res.GetPersons()) > 0 {
			w.persons[p.Key] = res.GetPersons()[0].GetId()
		}
	}
	return nil
}

func associationByKey(key string) *DemoAssociation {
	for i := range Associations {
		if Associations[i].Key == key {
			return &Associations[i]
		}
	}
	return nil
}
