package cli

import (
	"strings"

	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// buildVersion is set at link time:
// go build -ldflags "-X github.com/tokenkeeper/tokenkeeper/internal/cli.buildVersion=v1.2.3".
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

func versionCommand() *command {
	return &command{
		name: "version", summary: "print version and build information",
		long:    "Print the version, the Go version and platform, and the commit it was built from.",
		example: "tokenkeeper version\ntokenkeeper --version",
		noPaths: true,
		flags: func(fs *pflag.FlagSet) func(*app, []string) int {
			return func(a *app, args []string) int {
				fmt.Fprint(a.stdout, versionText())
				return exitOK
			}
		},
	}
}

// versionText is what version and --version print.
func versionText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tokenkeeper %s (%s, %s/%s)\n", version(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision", "vcs.time", "vcs.modified":
				fmt.Fprintf(&b, "%s: %s\n", s.Key, s.Value)
			}
		}
	}
	return b.String()
}
