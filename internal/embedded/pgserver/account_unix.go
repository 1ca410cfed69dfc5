//go:build unix

package pgserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// account is the unprivileged user the cluster runs as when we are root:
// initdb and postgres both refuse to run as root.
type account struct {
	name     string
	uid, gid uint32
}

// serviceAccount returns nil when no privilege drop is needed.
func serviceAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err := errors.Join(err1, err2); err != nil {
			errs = append(errs, fmt.Errorf("user %s: %w", name, err))
			continue
		}
		return &account{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, fmt.Errorf("PostgreSQL refuses to run as root and there is no postgres or nobody user to run it as: %w", errors.Join(errs...))
}

// apply makes cmd run as the account. HOME points at the cluster directory
// because the account's own home (/nonexistent for nobody) may not exist.
func (a *account) apply(cmd *exec.Cmd, home string) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: a.uid, Gid: a.gid}}
	cmd.Env = append(cmd.Environ(), "HOME="+home)
}

// own hands dir and everything in it to the account, after making sure the
// account can reach dir at all.
func (a *account) own(dir string) error {
	if err := a.reach(dir); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(a.uid), int(a.gid))
	})
}

// reach checks that the account may search every parent of dir. Parents
// under the temp directory are made searchable, because temp dirs made by
// root (os.MkdirTemp, t.TempDir) are 0700 and the cluster often lives there;
// anywhere else we would rather not loosen permissions behind the user's back.
func (a *account) reach(dir string) error {
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	tmp, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		tmp = os.TempDir()
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if bit := a.searchBit(fi); fi.Mode()&bit == 0 {
			if rel, err := filepath.Rel(tmp, p); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
				return fmt.Errorf("PostgreSQL refuses to run as root, so it runs as user %s, which cannot reach %s "+
					"because %s is not searchable by it: use a directory %s can reach, run Verkosto as a non-root user, "+
					"or point it at a running server with DATABASE_URL=postgres://...", a.name, dir, p, a.name)
			}
			if err := os.Chmod(p, fi.Mode()|bit); err != nil {
				return fmt.Errorf("make %s searchable for user %s: %w", p, a.name, err)
			}
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// searchBit is the permission bit that decides whether the account may
// search fi. Supplementary groups and ACLs are ignored: at worst we loosen a
// temp directory that did not need it.
func (a *account) searchBit(fi fs.FileInfo) fs.FileMode {
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !ok:
		return 0o001
	case st.Uid == a.uid:
		return 0o100
	case st.Gid == a.gid:
		return 0o010
	default:
		return 0o001
	}
}

// chown gives a single path to the account.
func (a *account) chown(path string) error {
	return os.Lchown(path, int(a.uid), int(a.gid))
}

// ownedByServer reports whether fi belongs to the user the server runs as:
// a shared temp directory could hold a look-alike planted by someone else.
func ownedByServer(a *account, fi fs.FileInfo) bool {
	uid := uint32(os.Geteuid())
	if a != nil {
		uid = a.uid
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && st.Uid == uid
}
