package storage

// The layout of a profile's files, as documentation describes it (the man
// pages' FILES and ENVIRONMENT): the names above, under the default roots.

// Root is one default root of the profiles' directories: the XDG Base
// Directory variable that names it, and where it is when that is unset.
type Root struct {
	Env     string // XDG_CONFIG_HOME, XDG_STATE_HOME
	Default string // in $HOME's terms, as the XDG Base Directory spec says
	What    string
}

// The two XDG roots: the variable that names each, and where it is under
// $HOME when that is unset. Roots documents them and, on Linux, configHome
// and stateHome resolve them (xdg_linux.go).
const (
	configEnv, configRel = "XDG_CONFIG_HOME", ".config"
	stateEnv, stateRel   = "XDG_STATE_HOME", ".local/state"
)

// Roots are the default roots, config then state, each holding appDir with a
// sub-directory per profile. They are the XDG specification's, which
// configHome and stateHome follow on Linux (files_linux_test.go holds them to
// it); other platforms use their own conventions through adrg/xdg.
func Roots() []Root {
	return []Root{
		{configEnv, "$HOME/" + configRel, "holds " + appDir + "/PROFILE/" + CredentialsFileName},
		{stateEnv, "$HOME/" + stateRel, "holds " + appDir + "/PROFILE/" + TokenFileName + " and its lock"},
	}
}

// File is one file of a profile at its default place; PROFILE stands for the
// profile's name.
type File struct{ Path, What string }

// Files are the files a profile keeps, at their default places.
func Files() []File {
	config := "$" + Roots()[0].Env + "/" + appDir + "/PROFILE/"
	state := "$" + Roots()[1].Env + "/" + appDir + "/PROFILE/"
	return []File{
		{config + CredentialsFileName, "the profile's credentials (mode 0600, directory 0700)"},
		{state + TokenFileName, "the token record: the token endpoint's answer with its expiries, access and refresh tokens (mode 0600, directory 0700)"},
		{state + TokenFileName + LockSuffix, "the lock that lets one process at a time renew the token (mode 0600); never deleted"},
	}
}
