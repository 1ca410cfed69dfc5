package pgserver

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrBinariesMissing is returned (wrapped) when initdb/pg_ctl cannot be found.
var ErrBinariesMissing = errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found")

// binDirs lists where initdb and pg_ctl may live, most trustworthy first.
// PG_BINDIR, when set, is the only candidate: silently falling back to some
// other installed version would hide the mistake.
func binDirs(ctx context.Context) []string {
	if d := os.Getenv("PG_BINDIR"); d != "" {
		return []string{d}
	}
	var dirs []string
	// On Debian/Ubuntu pg_config may come from libpq-dev alone, pointing at a
	// directory without the server binaries; findBinDir then moves on.
	if pgConfig, err := exec.LookPath("pg_config"); err == nil {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, pgConfig, "--bindir").Output(); err == nil {
			dirs = append(dirs, strings.TrimSpace(string(out)))
		}
	}
	dirs = append(dirs, newestFirst("/usr/lib/postgresql/*/bin")...)
	dirs = append(dirs, "/usr/local/pgsql/bin")
	dirs = append(dirs, newestFirst("/opt/homebrew/opt/postgresql*/bin")...)
	dirs = append(dirs, newestFirst("/usr/local/opt/postgresql*/bin")...)
	return append(dirs, filepath.SplitList(os.Getenv("PATH"))...)
}

// newestFirst globs for versioned install directories such as
// /usr/lib/postgresql/15/bin or /opt/homebrew/opt/postgresql@16/bin and
// orders them by version, numerically so that 10 beats 9.6.
func newestFirst(pattern string) []string {
	dirs, _ := filepath.Glob(pattern)
	version := func(dir string) float64 {
		name := filepath.Base(filepath.Dir(dir))
		name = strings.TrimPrefix(strings.TrimPrefix(name, "postgresql"), "@")
		v, _ := strconv.ParseFloat(name, 64)
		return v
	}
	slices.SortStableFunc(dirs, func(a, b string) int { return cmp.Compare(version(b), version(a)) })
	return dirs
}

// findBinDir returns the first of dirs that holds both initdb and pg_ctl, as
// an absolute path: commands run with the cluster directory as working
// directory, and pg_ctl finds postgres next to itself.
func findBinDir(dirs []string) (string, error) {
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if _, err := exec.LookPath(filepath.Join(d, "initdb")); err != nil {
			continue
		}
		if _, err := exec.LookPath(filepath.Join(d, "pg_ctl")); err != nil {
			continue
		}
		return filepath.Abs(d)
	}
	return "", fmt.Errorf("%w: install them (Debian/Ubuntu: apt-get install postgresql; "+
		"macOS: brew install postgresql@16; or set PG_BINDIR), "+
		`or point Verkosto at a running server with DATABASE_URL=postgres://..., or run "docker compose up"`,
		ErrBinariesMissing)
}

// CheckBinaries fails fast, with what to install, when no PostgreSQL server
// binaries are found; callers run it before anything slow.
func CheckBinaries(ctx context.Context) error {
	_, err := findBinDir(binDirs(ctx))
	return err
}
