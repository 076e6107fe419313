package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// buildVersion is set at link time: go build -ldflags "-X main.buildVersion=v1.2.3".
var buildVersion = ""

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func (a *app) cmdVersion(args []string) int {
	fs := newFlags("version")
	if code := a.parseFlags(fs, args, 0); code >= 0 {
		return code
	}
	fmt.Fprintf(a.stdout, "tokenkeeper %s (%s, %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified":
				fmt.Fprintf(a.stdout, "%s: %s\n", s.Key, s.Value)
			}
		}
	}
	return exitOK
}
