// Package demo holds the demo data set for the Pohjois-Pohjanmaa region
// (region slug "pohjois-pohjanmaa"): real member organisations taken from
// public sources, fictional people, and the region's four programme networks.
//
// Association names are real; all e-mail addresses and phone numbers are
// fictional. Business IDs (Y-tunnus) are deliberately left empty: none has
// been verified against the trade register.
package demo

import (
	"errors"
	"fmt"
	"strings"
)

// DemoAssociation is a real member organisation from public sources.
type DemoAssociation struct {
	Key                    string   // short stable key used to refer to it below, e.g. "mll-pp"
	NameFi, NameSv, NameEn string   // sv/en may be "" when there is no established name
	BusinessID             string   // Y-tunnus ONLY if certain it is real AND its check digit is valid; else ""
	Umbrella               string   // umbrella organisation, or ""
	Municipalities         []string // municipalities served, Finnish names
	Website                string   // only if confident, else ""
	Email                  string   // clearly fictional address under example.org
	Networks               []string // programme slugs of the Pohjois-Pohjanmaa networks it is an ACTIVE member of
	Pending                []string // programme slugs where it has a pending application
}

// DemoPerson is a fictional person.
type DemoPerson struct {
	Key           string
	Given, Family string
	Email         string   // fictional, @example.org
	Phone         string   // fictional
	Associations  []string // association keys
	LeaderOf      []string // programme slugs of networks this person leads (veturi)
}

// DemoNetwork is one programme network of the region.
type DemoNetwork struct {
	Programme              string
	NameFi, NameSv, NameEn string
	DescFi, DescSv, DescEn string
}

// Associations are the member organisations of the demo region.
var Associations = []DemoAssociation{
	// --- Lapset, nuoret ja perheet -----------------------------------------
	{
		// Note: MLL's northern districts were being merged into a
		// "Pohjois-Suomen piiri" in 2025; the Pohjois-Pohjanmaa name is kept
		// here as the established one.
		Key:            "mll-pp",
		NameFi:         "Mannerheimin Lastensuojeluliiton Pohjois-Pohjanmaan piiri ry",
		Umbrella:       "Mannerheimin Lastensuojeluliitto",
		Municipalities: []string{"Oulu", "Kempele", "Liminka", "Raahe", "Ylivieska", "Kuusamo"},
		Website:        "https://pohjois-pohjanmaa.mll.fi",
		Email:          "info@mll-pp.example.org",
		Networks:       []string{"lape"},
	},
	{
		Key:            "adhd",
		NameFi:         "ADHD-liitto ry",
		NameSv:         "ADHD-förbundet rf",
		Municipalities: []string{"Oulu", "Kempele"},
		Website:        "https://www.adhdliitto.fi",
		Email:          "info@adhd.example.org",
		Networks:       []string{"lape", "mielenterveys"},
	},
	{
		Key:            "oetk",
		NameFi:         "Oulun ensi- ja turvakoti ry",
		Umbrella:       "Ensi- ja turvakotien liitto",
		Municipalities: []string{"Oulu", "Kempele", "Liminka", "Muhos"},
		Website:        "https://ensijaturvakotienliitto.fi/oulunensijaturvakoti/",
		Email:          "info@oetk.example.org",
		Networks:       []string{"lape", "mielenterveys"},
	},
	{
		Key:            "ny",
		NameFi:         "Nuorten Ystävät ry",
		Municipalities: []string{"Oulu", "Raahe", "Kuusamo"},
		Website:        "https://www.nuortenystavat.fi",
		Email:          "info@ny.example.org",
		Networks:       []string{"lape", "mielenterveys"},
	},
	{
		// Formerly Oulun Seudun Setlementti ry.
		Key:            "vuolle",
		NameFi:         "Vuolle Setlementti ry",
		Umbrella:       "Setlementtiliitto",
		Municipalities: []string{"Oulu", "Pudasjärvi"},
		Website:        "https://vuolleoulu.fi",
		Email:          "info@vuolle.example.org",
		Networks:       []string{"lape", "mielenterveys"},
		Pending:        []string{"ikaihmiset"},
	},
	{
		Key:            "pela-ps",
		NameFi:         "Pelastakaa Lapset ry, Pohjois-Suomen aluetoimisto",
		NameSv:         "Rädda Barnen rf",
		NameEn:         "Save the Children Finland",
		Municipalities: []string{"Oulu", "Kempele", "Ii"},
		Website:        "https://www.pelastakaalapset.fi",
		Email:          "pohjois-suomi@pela.example.org",
		Networks:       []string{"lape"},
	},

	// --- Mielenterveys- ja päihdepalvelut ----------------------------------
	{
		// Formerly Oulun seudun psykiatristen potilaiden omaiset ry.
		Key:            "hmt",
		NameFi:         "Hyvän mielen talo ry",
		Municipalities: []string{"Oulu", "Kempele", "Liminka"},
		Website:        "https://www.hyvanmielentalo.fi",
		Email:          "info@hmt.example.org",
		Networks:       []string{"mielenterveys", "lape"},
	},
	{
		Key:            "mielenvireys",
		NameFi:         "Mielenvireys ry",
		Municipalities: []string{"Oulu"},
		Email:          "info@mielenvireys.example.org",
		Networks:       []string{"mielenterveys"},
	},
	{
		// Renamed in 2023 to "RETS – Rikoksettoman elämän tukisäätiö" (rets.fi);
		// the former, widely known name is kept as requested.
		Key:            "krits",
		NameFi:         "Kriminaalihuollon tukisäätiö sr",
		NameSv:         "Stiftelsen för kriminalvårdens främjande",
		Municipalities: []string{"Oulu"},
		Website:        "https://rets.fi",
		Email:          "info@krits.example.org",
		Networks:       []string{"mielenterveys"},
	},
	{
		Key:            "mielikit",
		NameFi:         "Kalajokilaakson mielenterveysyhdistys Mielikit ry",
		Umbrella:       "Mielenterveyden keskusliitto",
		Municipalities: []string{"Ylivieska", "Alavieska", "Sievi", "Kalajoki", "Oulainen", "Merijärvi", "Haapavesi"},
		Email:          "info@mielikit.example.org",
		Networks:       []string{"mielenterveys"},
	},
	{
		Key:            "odl",
		NameFi:         "Oulun Diakonissalaitoksen säätiö sr",
		Municipalities: []string{"Oulu", "Kempele", "Liminka", "Lumijoki"},
		Website:        "https://www.odl.fi",
		Email:          "info@odl.example.org",
		Networks:       []string{"mielenterveys", "ikaihmiset"},
	},

	// --- Ikäihmiset ---------------------------------------------------------
	{
		Key:            "osmy",
		NameFi:         "Oulun Seudun Muistiyhdistys ry",
		Umbrella:       "Muistiliitto",
		Municipalities: []string{"Oulu", "Ii", "Kempele", "Liminka", "Muhos", "Tyrnävä"},
		Website:        "https://osmy.fi",
		Email:          "info@osmy.example.org",
		Networks:       []string{"ikaihmiset"},
	},
	{
		Key:            "osol",
		NameFi:         "Oulun seudun omaishoitajat ry",
		Umbrella:       "Omaishoitajaliitto",
		Municipalities: []string{"Oulu", "Kempele", "Liminka", "Lumijoki", "Muhos", "Tyrnävä", "Hailuoto", "Ii"},
		Website:        "https://www.osol.fi",
		Email:          "info@osol.example.org",
		Networks:       []string{"ikaihmiset", "lape"},
	},
	{
		Key:            "eetu-pp",
		NameFi:         "Pohjois-Pohjanmaan EETU ry",
		Umbrella:       "Eläkeläisliittojen etujärjestö EETU ry",
		Municipalities: []string{"Oulu", "Raahe", "Ylivieska", "Kuusamo", "Nivala"},
		Email:          "info@eetu-pp.example.org",
		Networks:       []string{"ikaihmiset"},
	},
	{
		Key:            "elakelaiset-jokilaaksot",
		NameFi:         "Eläkeläiset ry:n Jokilaaksojen Aluejärjestö ry",
		Umbrella:       "Eläkeläiset ry",
		Municipalities: []string{"Oulu", "Kempele", "Tyrnävä", "Ii", "Haapajärvi"},
		Website:        "https://yhdistykset.elakelaiset.fi/jokilaaksot/",
		Email:          "info@jokilaaksot.example.org",
		Networks:       []string{"ikaihmiset"},
	},
	{
		Key:            "ojae",
		NameFi:         "Oulun julkisen alan eläkeläiset ry",
		Municipalities: []string{"Oulu"},
		Website:        "https://www.ojae.fi",
		Email:          "info@ojae.example.org",
		Pending:        []string{"ikaihmiset"},
	},

	// --- Hoitotakuu (potilas- ja vammaisjärjestöt) ---------------------------
	{
		Key:            "psoriasisliitto",
		NameFi:         "Psoriasisliitto ry",
		NameSv:         "Psoriasisförbundet rf",
		NameEn:         "Finnish Psoriasis Association",
		Municipalities: []string{"Oulu"},
		Email:          "info@psoriasisliitto.example.org",
		Networks:       []string{"hoitotakuu"},
	},
	{
		Key:            "psori-pp",
		NameFi:         "Pohjois-Pohjanmaan Psoriasisyhdistys ry",
		Umbrella:       "Psoriasisliitto",
		Municipalities: []string{"Oulu", "Kempele", "Liminka", "Muhos", "Raahe", "Ii", "Siikalatva"},
		Website:        "https://oulupsori.fi",
		Email:          "info@psori-pp.example.org",
		Networks:       []string{"hoitotakuu"},
	},
	{
		Key:            "invalidiliitto",
		NameFi:         "Invalidiliitto ry",
		NameSv:         "Invalidförbundet rf",
		NameEn:         "The Finnish Association of People with Physical Disabilities",
		Municipalities: []string{"Oulu"},
		Website:        "https://www.invalidiliitto.fi",
		Email:          "info@invalidiliitto.example.org",
		Networks:       []string{"hoitotakuu"},
		Pending:        []string{"ikaihmiset"},
	},
	{
		Key:            "oiy",
		NameFi:         "Oulun invalidien yhdistys ry",
		Umbrella:       "Invalidiliitto",
		Municipalities: []string{"Oulu"},
		Website:        "https://www.oiy.fi",
		Email:          "info@oiy.example.org",
		Networks:       []string{"hoitotakuu", "ikaihmiset"},
	},
	{
		Key:            "sydanpiiri-pp",
		NameFi:         "Pohjois-Pohjanmaan Sydänpiiri ry",
		Umbrella:       "Sydänliitto",
		Municipalities: []string{"Oulu", "Raahe", "Ylivieska", "Nivala", "Kuusamo"},
		Email:          "info@sydanpiiri-pp.example.org",
		Networks:       []string{"hoitotakuu", "ikaihmiset"},
	},
	{
		Key:            "pssy",
		NameFi:         "Pohjois-Suomen Syöpäyhdistys ry",
		Umbrella:       "Suomen Syöpäyhdistys",
		Municipalities: []string{"Oulu", "Raahe", "Ylivieska", "Kuusamo"},
		Email:          "info@pssy.example.org",
		Networks:       []string{"hoitotakuu"},
	},
	{
		Key:            "naky-pp",
		NameFi:         "Pohjois-Pohjanmaan Näkövammaiset ry",
		Umbrella:       "Näkövammaisten liitto",
		Municipalities: []string{"Oulu", "Ii", "Kalajoki", "Kuusamo", "Nivala", "Oulainen", "Pudasjärvi", "Raahe", "Ylivieska"},
		Email:          "info@naky-pp.example.org",
		Networks:       []string{"hoitotakuu"},
		Pending:        []string{"ikaihmiset"},
	},
}

// Persons are fictional people working in the member associations.
var Persons = []DemoPerson{
	{Key: "aino-heikkila", Given: "Aino", Family: "Heikkilä", Email: "aino.heikkila@example.org", Phone: "+358 40 000 0101",
		Associations: []string{"mll-pp"}, LeaderOf: []string{"lape"}},
	{Key: "mikko-virtanen", Given: "Mikko", Family: "Virtanen", Email: "mikko.virtanen@example.org", Phone: "+358 40 000 0102",
		Associations: []string{"ny", "vuolle"}, LeaderOf: []string{"lape"}},
	{Key: "liisa-korhonen", Given: "Liisa", Family: "Korhonen", Email: "liisa.korhonen@example.org", Phone: "+358 40 000 0103",
		Associations: []string{"osmy"}, LeaderOf: []string{"ikaihmiset"}},
	{Key: "pekka-makinen", Given: "Pekka", Family: "Mäkinen", Email: "pekka.makinen@example.org", Phone: "+358 40 000 0104",
		Associations: []string{"elakelaiset-jokilaaksot", "eetu-pp"}, LeaderOf: []string{"ikaihmiset"}},
	{Key: "sanna-nieminen", Given: "Sanna", Family: "Nieminen", Email: "sanna.nieminen@example.org", Phone: "+358 40 000 0105",
		Associations: []string{"hmt"}, LeaderOf: []string{"mielenterveys"}},
	{Key: "juha-hamalainen", Given: "Juha", Family: "Hämäläinen", Email: "juha.hamalainen@example.org", Phone: "+358 40 000 0106",
		Associations: []string{"krits"}, LeaderOf: []string{"mielenterveys"}},
	{Key: "anna-laine", Given: "Anna", Family: "Laine", Email: "anna.laine@example.org", Phone: "+358 40 000 0107",
		Associations: []string{"pssy"}, LeaderOf: []string{"hoitotakuu"}},
	{Key: "timo-koskinen", Given: "Timo", Family: "Koskinen", Email: "timo.koskinen@example.org", Phone: "+358 40 000 0108",
		Associations: []string{"oiy", "invalidiliitto"}, LeaderOf: []string{"hoitotakuu"}},
	{Key: "maria-jarvinen", Given: "Maria", Family: "Järvinen", Email: "maria.jarvinen@example.org", Phone: "+358 40 000 0109",
		Associations: []string{"oetk"}},
	{Key: "kari-lehtonen", Given: "Kari", Family: "Lehtonen", Email: "kari.lehtonen@example.org", Phone: "+358 40 000 0110",
		Associations: []string{"odl", "osol"}},
	{Key: "elina-saarinen", Given: "Elina", Family: "Saarinen", Email: "elina.saarinen@example.org", Phone: "+358 40 000 0111",
		Associations: []string{"adhd"}},
	{Key: "jussi-rantanen", Given: "Jussi", Family: "Rantanen", Email: "jussi.rantanen@example.org", Phone: "+358 40 000 0112",
		Associations: []string{"psori-pp", "sydanpiiri-pp"}},
}

// Networks are the four programme networks of Pohjois-Pohjanmaa.
var Networks = []DemoNetwork{
	{
		Programme: "lape",
		NameFi:    "Pohjois-Pohjanmaan LAPE-järjestöverkosto",
		NameSv:    "Norra Österbottens organisationsnätverk för barn, unga och familjer (LAPE)",
		NameEn:    "North Ostrobothnia LAPE Network of Organisations (Children, Young People and Families)",
		DescFi:    "Lasten, nuorten ja perheiden parissa toimivien järjestöjen yhteistyöverkosto. Verkosto tuo järjestöjen osaamisen perhekeskustoimintaan ja hyvinvointialueen palvelujen kehittämiseen.",
		DescSv:    "Samarbetsnätverk för organisationer som arbetar med barn, unga och familjer. Nätverket för in organisationernas kunnande i familjecentrens verksamhet och i utvecklingen av välfärdsområdets tjänster.",
		DescEn:    "A cooperation network for organisations working with children, young people and families. It brings their expertise into family centre work and the development of the wellbeing services county's services.",
	},
	{
		Programme: "ikaihmiset",
		NameFi:    "Pohjois-Pohjanmaan ikäihmisten järjestöverkosto",
		NameSv:    "Norra Österbottens organisationsnätverk för äldre",
		NameEn:    "North Ostrobothnia Network of Organisations for Older People",
		DescFi:    "Ikäihmisten, muistisairaiden ja omaishoitajien parissa toimivien järjestöjen verkosto. Verkosto tukee kotona asumista, osallisuutta ja läheisten jaksamista yhdessä hyvinvointialueen kanssa.",
		DescSv:    "Nätverk för organisationer som arbetar med äldre, personer med minnessjukdom och närståendevårdare. Nätverket stöder boende hemma, delaktighet och de närståendes ork tillsammans med välfärdsområdet.",
		DescEn:    "A network of organisations working with older people, people with memory disorders and family carers. Together with the wellbeing services county it supports living at home, participation and carers' wellbeing.",
	},
	{
		Programme: "mielenterveys",
		NameFi:    "Pohjois-Pohjanmaan mielenterveys- ja päihdejärjestöverkosto",
		NameSv:    "Norra Österbottens organisationsnätverk för mental hälsa och missbruksvård",
		NameEn:    "North Ostrobothnia Network of Mental Health and Substance Abuse Organisations",
		DescFi:    "Mielenterveys- ja päihdetyötä tekevien järjestöjen verkosto. Verkosto vahvistaa matalan kynnyksen tukea, vertaistoimintaa ja kokemusasiantuntijuutta osana mielenterveys- ja päihdepalveluja.",
		DescSv:    "Nätverk för organisationer inom mentalvårds- och missbruksarbete. Nätverket stärker lågtröskelstöd, kamratstöd och erfarenhetsexpertis som en del av tjänsterna för mental hälsa och missbruksvård.",
		DescEn:    "A network of organisations doing mental health and substance abuse work. It strengthens low-threshold support, peer support and lived-experience expertise as part of mental health and substance abuse services.",
	},
	{
		Programme: "hoitotakuu",
		NameFi:    "Pohjois-Pohjanmaan hoitotakuun järjestöverkosto",
		NameSv:    "Norra Österbottens organisationsnätverk för vårdgarantin",
		NameEn:    "North Ostrobothnia Network of Organisations for the Care Guarantee",
		DescFi:    "Potilas- ja vammaisjärjestöjen verkosto, joka tuo järjestöjen tuen osaksi hoitoon pääsyä. Verkosto ohjaa ihmisiä vertaistukeen ja neuvontaan hoitoa odottaessa ja sen jälkeen.",
		DescSv:    "Nätverk för patient- och handikapporganisationer som gör organisationernas stöd till en del av tillgången till vård. Nätverket vägleder människor till kamratstöd och rådgivning i väntan på vård och efter den.",
		DescEn:    "A network of patient and disability organisations that makes their support part of access to care. It guides people to peer support and advice while they wait for treatment and afterwards.",
	},
}

// validYTunnus reports whether s is a syntactically valid Finnish business ID
// (Y-tunnus): seven digits, a hyphen and a correct check digit.
func validYTunnus(s string) bool {
	if len(s) != 9 || s[7] != '-' {
		return false
	}
	weights := [7]int{7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		c := s[i]
		if c < '0' || c > '9' {
			return false
		}
		sum += int(c-'0') * w
	}
	c := s[8]
	if c < '0' || c > '9' {
		return false
	}
	r := sum % 11
	var check int
	switch r {
	case 0:
		check = 0
	case 1:
		return false
	default:
		check = 11 - r
	}
	return int(c-'0') == check
}

// validate checks the internal consistency of the demo data set.
func validate() error {
	var errs []error
	fail := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}

	// The 30 municipalities of Pohjois-Pohjanmaa.
	municipalities := map[string]bool{}
	for _, m := range []string{
		"Alavieska", "Haapajärvi", "Haapavesi", "Hailuoto", "Ii", "Kalajoki",
		"Kempele", "Kuusamo", "Kärsämäki", "Liminka", "Lumijoki", "Merijärvi",
		"Muhos", "Nivala", "Oulainen", "Oulu", "Pudasjärvi", "Pyhäjoki",
		"Pyhäjärvi", "Pyhäntä", "Raahe", "Reisjärvi", "Sievi", "Siikajoki",
		"Siikalatva", "Taivalkoski", "Tyrnävä", "Utajärvi", "Vaala", "Ylivieska",
	} {
		municipalities[m] = true
	}

	programmes := map[string]bool{}
	for _, n := range Networks {
		switch n.Programme {
		case "lape", "ikaihmiset", "mielenterveys", "hoitotakuu":
		default:
			fail("network: unknown programme %q", n.Programme)
		}
		if programmes[n.Programme] {
			fail("network: duplicate programme %q", n.Programme)
		}
		programmes[n.Programme] = true
		if n.NameFi == "" || n.NameSv == "" || n.NameEn == "" || n.DescFi == "" || n.DescSv == "" || n.DescEn == "" {
			fail("network %q: missing name or description", n.Programme)
		}
	}
	if len(Networks) != 4 {
		fail("want 4 networks, have %d", len(Networks))
	}

	// active[key][programme] is true when the association is an active member.
	active := map[string]map[string]bool{}
	for _, a := range Associations {
		if a.Key == "" {
			fail("association %q: empty key", a.NameFi)
			continue
		}
		if _, dup := active[a.Key]; dup {
			fail("association %q: duplicate key", a.Key)
		}
		nets := map[string]bool{}
		active[a.Key] = nets
		if a.NameFi == "" {
			fail("association %q: empty Finnish name", a.Key)
		}
		if a.BusinessID != "" && !validYTunnus(a.BusinessID) {
			fail("association %q: invalid business ID %q", a.Key, a.BusinessID)
		}
		if !strings.HasSuffix(a.Email, ".example.org") && !strings.HasSuffix(a.Email, "@example.org") {
			fail("association %q: e-mail %q is not under example.org", a.Key, a.Email)
		}
		if len(a.Municipalities) == 0 {
			fail("association %q: no municipalities", a.Key)
		}
		for _, m := range a.Municipalities {
			if !municipalities[m] {
				fail("association %q: %q is not a Pohjois-Pohjanmaa municipality", a.Key, m)
			}
		}
		for _, p := range a.Networks {
			if !programmes[p] {
				fail("association %q: unknown network %q", a.Key, p)
			}
			if nets[p] {
				fail("association %q: duplicate network %q", a.Key, p)
			}
			nets[p] = true
		}
		for _, p := range a.Pending {
			if !programmes[p] {
				fail("association %q: unknown pending network %q", a.Key, p)
			}
			if nets[p] {
				fail("association %q: pending in %q where it is already active", a.Key, p)
			}
		}
	}

	leaders := map[string]int{}
	persons := map[string]bool{}
	for _, p := range Persons {
		if p.Key == "" {
			fail("person %s %s: empty key", p.Given, p.Family)
			continue
		}
		if persons[p.Key] {
			fail("person %q: duplicate key", p.Key)
		}
		persons[p.Key] = true
		if p.Given == "" || p.Family == "" {
			fail("person %q: missing name", p.Key)
		}
		if !strings.HasSuffix(p.Email, "@example.org") {
			fail("person %q: e-mail %q is not @example.org", p.Key, p.Email)
		}
		if n := len(p.Associations); n < 1 || n > 2 {
			fail("person %q: has %d associations, want 1-2", p.Key, n)
		}
		for _, k := range p.Associations {
			if _, ok := active[k]; !ok {
				fail("person %q: unknown association %q", p.Key, k)
			}
		}
		for _, prog := range p.LeaderOf {
			if !programmes[prog] {
				fail("person %q: leads unknown network %q", p.Key, prog)
				continue
			}
			leaders[prog]++
			ok := false
			for _, k := range p.Associations {
				if active[k][prog] {
					ok = true
					break
				}
			}
			if !ok {
				fail("person %q: leads %q but none of their associations is an active member", p.Key, prog)
			}
		}
	}
	for prog, n := range leaders {
		if n > 2 {
			fail("network %q: %d leaders, at most 2 allowed", prog, n)
		}
	}

	return errors.Join(errs...)
}
