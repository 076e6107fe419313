package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// modeBitsTell is whether a file's mode bits say who can read it. On Windows
// they do not: access is in the file's ACL (aclExposure, dirACLWarning), and
// Stat shows every file as 0666 and every directory as 0777.
const modeBitsTell = runtime.GOOS != "windows"

// Exposure is a file of secrets that others may reach: what they may do
// with it, and the command that makes it private again. A caller that warns
// prints String; one that refuses (a private key) words its own message from
// Problem and Fix, and never cuts String's text.
type Exposure struct {
	Path    string // the file, as given
	Problem string // e.g. "is readable by group and others (mode 0644)"
	Fix     string // a command to paste, e.g. "chmod 600 /x/credentials.json"
}

// String is the one-line warning: "PATH PROBLEM; run: FIX".
func (e *Exposure) String() string { return e.Path + " " + e.Problem + "; run: " + e.Fix }

// FileExposure returns nil when the file at path is missing or private to
// its owner, this user or root, and otherwise who else may reach it, with
// the chmod (icacls on Windows) that fixes it. The file holds secrets; the
// caller decides whether to warn or refuse.
func FileExposure(path string) *Exposure {
	if !modeBitsTell {
		return aclExposure(path)
	}
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil // missing, unreadable or no file: the load error will say so
	}
	perm := fi.Mode().Perm()
	if uid, ok := fileOwner(fi); ok && uid != os.Geteuid() && uid != 0 {
		// Its owner may change it at will: a tokenURL of theirs would be
		// sent the refresh token. root's files (an /etc layout) are trusted.
		q := shellQuote(path)
		return &Exposure{Path: path, Problem: fmt.Sprintf("belongs to another user (uid %d), who can change it", uid),
			Fix: "cp " + q + " " + shellQuote(path+".mine") + " && mv " + shellQuote(path+".mine") + " " + q + " && chmod 600 " + q}
	}
	if perm&0o077 == 0 {
		return nil
	}
	return &Exposure{Path: path, Problem: fmt.Sprintf("is %s by %s (mode %04o)", access(perm), audience(perm), perm),
		Fix: "chmod 600 " + shellQuote(path)}
}

// PermissionWarning is FileExposure's String, "" when there is none, e.g.
// "/x/credentials.json is readable by group and others (mode 0644);
// run: chmod 600 /x/credentials.json".
func PermissionWarning(path string) string {
	if e := FileExposure(path); e != nil {
		return e.String()
	}
	return ""
}

// access says the worst thing that group or others can do.
func access(perm os.FileMode) string {
	switch {
	case perm&0o044 != 0:
		return "readable"
	case perm&0o022 != 0:
		return "writable"
	default:
		return "accessible"
	}
}

func audience(perm os.FileMode) string {
	switch g, o := perm&0o070 != 0, perm&0o007 != 0; {
	case g && o:
		return "group and others"
	case g:
		return "group"
	default:
		return "others"
	}
}

// shellQuote quotes path for the suggested command only when it needs it, so
// the common case stays readable and the odd one can still be pasted.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("/._-+=:,@%", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ShellQuote is shellQuote for the hints of the other packages.
func ShellQuote(s string) string { return shellQuote(s) }

// DirWarnings returns a warning, with the chmod that fixes it, for each
// directory of the profile that group or others may write: the config and
// state directories, and the resolved token file's when a link leads
// elsewhere. Whoever can write a directory can replace the files in it or plant
// links there.
func DirWarnings(p Paths) []string {
	dirs := []string{p.ConfigDir, p.StateDir}
	if real, err := resolve(p.TokenFile); err == nil {
		dirs = append(dirs, filepath.Dir(real))
	}
	var warns []string
	seen := map[string]bool{}
	for _, d := range dirs {
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		if w := dirWriteWarning(d); w != "" {
			warns = append(warns, w)
		}
	}
	return warns
}

func dirWriteWarning(dir string) string {
	if !modeBitsTell {
		return dirACLWarning(dir)
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return ""
	}
	perm := fi.Mode().Perm()
	if perm&0o022 == 0 {
		return ""
	}
	if fi.Mode()&os.ModeSticky != 0 {
		// A directory shared by design (/tmp): chmod go-w would break it for
		// everyone, and others could still plant the names not yet taken (the
		// lock, a token file to come). The fix is a directory of one's own.
		return fmt.Sprintf("%s is a shared directory (mode 1%03o, sticky): others can create files in it, where the profile's files are still to come; keep the profile in a directory of your own (mkdir -m 700 DIR) instead of changing this one",
			dir, perm)
	}
	return fmt.Sprintf("%s is writable by %s (mode %04o), who could replace the files in it; run: chmod go-w %s",
		dir, audience(perm&0o022), perm, shellQuote(dir))
}
