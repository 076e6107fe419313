package storage

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// On Windows the roots are where adrg/xdg puts them — XDG_CONFIG_HOME and
// XDG_STATE_HOME when absolute, else the user's local application data — found
// without adrg/xdg: its package initialisation looks up some twenty known
// folders, loading shell32 and a dozen other DLLs, on every start of every
// run, `token` on a valid token included (docs/contract.md §6). Here the one
// folder needed is looked up when a profile's paths are resolved: from
// %LOCALAPPDATA%, set in every user's session, else the known folder itself.

func configHome() (dir, why string) { return windowsHome(configEnv) }
func stateHome() (dir, why string)  { return windowsHome(stateEnv) }

func windowsHome(env string) (string, string) {
	if v := os.Getenv(env); filepath.IsAbs(v) {
		return v, "$" + env
	}
	dir, where := localAppData()
	return dir, "the windows default, " + where + " (" + env + " unset or not absolute)"
}

// localAppData is the user's local application data folder, and where it
// was found.
func localAppData() (string, string) {
	if v := os.Getenv("LOCALAPPDATA"); filepath.IsAbs(v) {
		return v, "%LOCALAPPDATA%"
	}
	if v, err := windows.KnownFolderPath(windows.FOLDERID_LocalAppData, 0); err == nil && filepath.IsAbs(v) {
		return v, "the LocalAppData known folder"
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "AppData", "Local"), `%USERPROFILE%\AppData\Local`
	}
	return "", "no LocalAppData folder"
}
