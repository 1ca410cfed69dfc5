package networks_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/page"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/networks"
)

// seedAssociations puts n associations straight into the database, with the
// n published changes their creation left in the outbox (kept for the
// outbox retention), and updates the planner's statistics.
func seedAssociations(tb testing.TB, e *testenv.Env, n int) {
	tb.Helper()
	for _, sql := range []string{
		`INSERT INTO networks.associations (id, name_fi, municipalities, contact_email, create_time, update_time)
			SELECT gen_random_uuid(), 'Yhdistys ' || g, ARRAY['Kajaani'], 'info@example.org', now(), now() FROM generate_series(1, $1) g`,
		`INSERT INTO networks.outbox (id, subject, aggregate_id, payload, sent_at, stream_seq)
			SELECT gen_random_uuid(), 'verkosto.changes._._.association.created', 'a' || g, decode(repeat('ab', 300), 'hex'), now(), g
			FROM generate_series(1, $1) g`,
	} {
		if _, err := e.Pool.Exec(ctx, sql, n); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := e.Pool.Exec(ctx, `ANALYZE networks.associations; ANALYZE networks.outbox`); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkListAssociations: ListAssociations end to end over 1k, 10k and
// 100k associations (and as many changes in the outbox): the first page
// (with its change cursor) and a page 90 % deep in the keyset. Keyset
// pagination keeps both flat as the table grows.
func BenchmarkListAssociations(b *testing.B) {
	for _, rows := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			// No relay: its reconciler would find the seeded changes missing
			// from the stream and publish them again while we measure.
			e := testenv.New(b, modules(), testenv.Options{NoBackground: true})
			seedAssociations(b, e, rows)
			c := benchClient(b, e)
			var deep string
			if err := e.Pool.QueryRow(ctx, `SELECT id::text FROM networks.associations ORDER BY id OFFSET $1 LIMIT 1`, rows*9/10).Scan(&deep); err != nil {
				b.Fatal(err)
			}
			token := page.Encode(deep, page.Fingerprint("", "", "", ""))
			for _, tc := range []struct {
				name  string
				token string
			}{{"first", ""}, {"deep", token}} {
				b.Run(tc.name, func(b *testing.B) {
					for b.Loop() {
						res, err := c.ListAssociations(ctx, &networksv1.ListAssociationsRequest{PageSize: 50, PageToken: tc.token})
						if err != nil {
							b.Fatal(err)
						}
						if len(res.GetAssociations()) != 50 {
							b.Fatalf("page of %d", len(res.GetAssociations()))
						}
					}
				})
			}
		})
	}
}

// The keyset query reads the primary key index from the page token on: an
// index condition for a later page, never a sequential scan and sort. The
// optional filters ("$2 IS NULL OR ...") make a generic plan of the prepared
// statement scan the index from its start, but PostgreSQL keeps custom plans
// for a statement whose generic plan costs more than its custom ones, and
// this one costs thousands of times more.
func TestListAssociationsPlan(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, modules())
	seedAssociations(t, e, 20_000)
	var after string
	if err := e.Pool.QueryRow(ctx, `SELECT id::text FROM networks.associations ORDER BY id OFFSET 18000 LIMIT 1`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	conn, err := e.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `PREPARE list_associations (uuid, uuid, text, text, text, int) AS `+networks.ListAssociationsSQL); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, `DEALLOCATE list_associations`) //nolint:errcheck
	explain := func(mode, args string) (string, float64) {
		t.Helper()
		if _, err := conn.Exec(ctx, `SET plan_cache_mode = `+mode); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(ctx, `EXPLAIN EXECUTE list_associations (`+args+`)`)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		var cost float64
		if m := totalCost.FindStringSubmatch(lines[0]); m != nil {
			cost, _ = strconv.ParseFloat(m[1], 64)
		}
		text := strings.Join(lines, "\n")
		t.Logf("%s, %s:\n%s", mode, args, text)
		return text, cost
	}
	defer conn.Exec(ctx, `RESET plan_cache_mode`) //nolint:errcheck
	first, firstCost := explain("force_custom_plan", `NULL, NULL, '', '', '', 51`)
	deep, deepCost := explain("force_custom_plan", `'`+after+`', NULL, '', '', '', 51`)
	for _, plan := range []string{first, deep} {
		if !strings.Contains(plan, "Index Scan using associations_pkey") || strings.Contains(plan, "Seq Scan") || strings.Contains(plan, "Sort") {
			t.Errorf("the page does not walk the primary key:\n%s", plan)
		}
	}
	if !strings.Contains(deep, "Index Cond: (id > ") {
		t.Errorf("a later page does not start the scan at its token:\n%s", deep)
	}
	_, genericCost := explain("force_generic_plan", `'`+after+`', NULL, '', '', '', 51`)
	if genericCost < 100*max(firstCost, deepCost) {
		t.Errorf("the generic plan costs %.0f, custom ones %.0f and %.0f: PostgreSQL may switch to it", genericCost, firstCost, deepCost)
	}
}

var totalCost = regexp.MustCompile(`cost=[0-9.]+\.\.([0-9.]+)`)

// BenchmarkGetNetwork: GetNetwork end to end for a network with 1k, 10k and
// 100k active member associations (the answer carries their count).
func BenchmarkGetNetwork(b *testing.B) {
	for _, members := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			e := testenv.New(b, modules(), testenv.Options{NoBackground: true})
			c := benchClient(b, e)
			n, err := c.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: region, Programme: "lape"}})
			if err != nil {
				b.Fatal(err)
			}
			seedAssociations(b, e, members)
			if _, err := e.Pool.Exec(ctx, `INSERT INTO networks.memberships (id, network_id, association_id, state, apply_time, decide_time, create_time, update_time)
				SELECT gen_random_uuid(), $1, id, 'ACTIVE', now(), now(), now(), now() FROM networks.associations`, n.GetNetwork().GetId()); err != nil {
				b.Fatal(err)
			}
			if _, err := e.Pool.Exec(ctx, `VACUUM ANALYZE networks.memberships`); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				res, err := c.GetNetwork(ctx, &networksv1.GetNetworkRequest{Id: n.GetNetwork().GetId()})
				if err != nil {
					b.Fatal(err)
				}
				if res.GetNetwork().GetActiveMemberCount() != int32(members) {
					b.Fatalf("%d members", res.GetNetwork().GetActiveMemberCount())
				}
			}
		})
	}
}
