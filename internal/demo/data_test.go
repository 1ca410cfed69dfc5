package demo

import "testing"

func TestDataConsistent(t *testing.T) {
	if err := validate(); err != nil {
		t.Fatalf("demo data inconsistent:\n%v", err)
	}
}

func TestDataShape(t *testing.T) {
	if n := len(Associations); n < 20 || n > 30 {
		t.Errorf("have %d associations, want 20-30", n)
	}
	if n := len(Persons); n < 10 || n > 14 {
		t.Errorf("have %d persons, want 10-14", n)
	}
	leaders := map[string]int{}
	for _, p := range Persons {
		for _, prog := range p.LeaderOf {
			leaders[prog]++
		}
	}
	for _, n := range Networks {
		if leaders[n.Programme] != 2 {
			t.Errorf("network %q has %d leaders, want exactly 2", n.Programme, leaders[n.Programme])
		}
		members := 0
		for _, a := range Associations {
			for _, p := range a.Networks {
				if p == n.Programme {
					members++
				}
			}
		}
		if members < 3 {
			t.Errorf("network %q has only %d active members", n.Programme, members)
		}
	}
}

func TestValidYTunnus(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"1234567-1", true},  // sum 153, r=10, check 1
		{"1234567-2", false}, // wrong check digit
		{"0000000-0", true},  // r=0, check 0
		{"0000006-0", false}, // r=1 is never valid
		{"0000006-1", false},
		{"123456-1", false},
		{"12345671", false},
		{"1234567-x", false},
		{"a234567-1", false},
		{"", false},
	} {
		if got := validYTunnus(tc.in); got != tc.want {
			t.Errorf("validYTunnus(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidateCatchesBrokenData(t *testing.T) {
	saved := Persons
	t.Cleanup(func() { Persons = saved })

	// A leader whose only association is not active in the led network.
	Persons = append([]DemoPerson(nil), saved...)
	Persons = append(Persons, DemoPerson{
		Key: "x-leader", Given: "X", Family: "Y", Email: "x@example.org",
		Associations: []string{"pssy"}, LeaderOf: []string{"lape"},
	})
	if validate() == nil {
		t.Error("validate accepted a leader without an active member association (and a third lape leader)")
	}

	// An unknown association key.
	Persons = append([]DemoPerson(nil), saved...)
	Persons = append(Persons, DemoPerson{
		Key: "x-unknown", Given: "X", Family: "Y", Email: "x@example.org",
		Associations: []string{"no-such-association"},
	})
	if validate() == nil {
		t.Error("validate accepted an unknown association key")
	}
}
