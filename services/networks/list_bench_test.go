package networks_test

import (
	"fmt"
	"strings"
	"testing"

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
			e := testenv.New(b, modules())
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

// The keyset query reads the primary key index from the page token on, with
// a custom plan and with the generic plan PostgreSQL switches a prepared
// statement to after five runs: never a sequential scan and sort.
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
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		for _, args := range []string{`NULL, NULL, '', '', '', 51`, `'` + after + `', NULL, '', '', '', 51`} {
			if _, err := conn.Exec(ctx, `SET plan_cache_mode = `+mode); err != nil {
				t.Fatal(err)
			}
			rows, err := conn.Query(ctx, `EXPLAIN EXECUTE list_associations (`+args+`)`)
			if err != nil {
				t.Fatal(err)
			}
			var plan []string
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, line)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			t.Logf("%s, %s:\n%s", mode, args, text)
			if !strings.Contains(text, "Index Scan using associations_pkey") || strings.Contains(text, "Seq Scan") || strings.Contains(text, "Sort") {
				t.Errorf("%s (%s) does not walk the primary key:\n%s", mode, args, text)
			}
		}
	}
	conn.Exec(ctx, `RESET plan_cache_mode`) //nolint:errcheck
}
