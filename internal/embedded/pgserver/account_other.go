//go:build !unix

package pgserver

import (
	"io/fs"
	"os/exec"
)

// account exists only on Unix, where PostgreSQL refuses to run as root;
// elsewhere the cluster always runs as the current user.
type account struct{}

func serviceAccount() (*account, error)        { return nil, nil }
func (*account) apply(*exec.Cmd, string)       {}
func (*account) own(string) error              { return nil }
func (*account) chown(string) error            { return nil }
func ownedByServer(*account, fs.FileInfo) bool { return true }
