package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"
)

// recorder keeps every latency of one worker, by name, so percentiles are
// exact; workers never share one, so recording takes no lock.
type recorder struct {
	lat    map[string][]time.Duration
	errors map[string]int
	// firstErr keeps one error message per name, for the report.
	firstErr map[string]string
}

func newRecorder() *recorder {
	return &recorder{lat: map[string][]time.Duration{}, errors: map[string]int{}, firstErr: map[string]string{}}
}

func (r *recorder) ok(name string, d time.Duration) { r.lat[name] = append(r.lat[name], d) }

func (r *recorder) fail(name string, err error) {
	r.errors[name]++
	if _, ok := r.firstErr[name]; !ok {
		r.firstErr[name] = err.Error()
	}
}

// merge adds o into r.
func (r *recorder) merge(o *recorder) {
	for k, v := range o.lat {
		r.lat[k] = append(r.lat[k], v...)
	}
	for k, v := range o.errors {
		r.errors[k] += v
	}
	for k, v := range o.firstErr {
		if _, ok := r.firstErr[k]; !ok {
			r.firstErr[k] = v
		}
	}
}

// summary of one name's latencies.
type summary struct {
	name                string
	count, errors       int
	rate                float64
	p50, p95, p99, pMax time.Duration
}

func summarize(name string, lat []time.Duration, errors int, elapsed time.Duration) summary {
	s := summary{name: name, count: len(lat), errors: errors, rate: float64(len(lat)) / elapsed.Seconds()}
	if len(lat) == 0 {
		return s
	}
	slices.Sort(lat)
	s.p50, s.p95, s.p99 = percentile(lat, 0.50), percentile(lat, 0.95), percentile(lat, 0.99)
	s.pMax = lat[len(lat)-1]
	return s
}

// percentile of sorted values (nearest rank).
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func printTable(w io.Writer, rows []summary) {
	fmt.Fprintf(w, "%-22s %9s %7s %10s %9s %9s %9s %9s\n", "rpc", "count", "errors", "per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms")
	for _, s := range rows {
		fmt.Fprintf(w, "%-22s %9d %7d %10.1f %9.2f %9.2f %9.2f %9.2f\n", s.name, s.count, s.errors, s.rate,
			ms(s.p50), ms(s.p95), ms(s.p99), ms(s.pMax))
	}
}

func sortedNames(m map[string][]time.Duration, errs map[string]int) []string {
	var names []string
	for k := range m {
		names = append(names, k)
	}
	for k := range errs {
		if _, ok := m[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return names
}

// commitLatency matches each write's answer to the arrival of its change at
// the subscriber, by aggregate id and version; whichever comes second
// records the latency.
type commitLatency struct {
	mu       sync.Mutex
	answered map[string]time.Time // key -> when the write RPC answered
	arrived  map[string]time.Time // key -> when the change arrived
	lat      []time.Duration
	early    int // changes that arrived before their RPC's answer
	expected int
}

func newCommitLatency() *commitLatency {
	return &commitLatency{answered: map[string]time.Time{}, arrived: map[string]time.Time{}}
}

func changeKey(aggregateID string, version int64) string {
	return fmt.Sprintf("%s/%d", aggregateID, version)
}

// answer records that a write RPC answered at t with the change key.
func (c *commitLatency) answer(key string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expected++
	if at, ok := c.arrived[key]; ok {
		delete(c.arrived, key)
		c.record(at.Sub(t))
		return
	}
	c.answered[key] = t
}

// arrive records that the change with key reached the subscriber at t.
func (c *commitLatency) arrive(key string, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.answered[key]; ok {
		delete(c.answered, key)
		c.record(t.Sub(at))
		return
	}
	c.arrived[key] = t
}

func (c *commitLatency) record(d time.Duration) {
	if d < 0 {
		c.early++
		d = 0
	}
	c.lat = append(c.lat, d)
}

// pending is how many answered writes have not seen their change yet.
func (c *commitLatency) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.answered)
}
