package cli

import (
	"strings"
	"testing"
)

// TestNextLine: the scheduler line of setup and login, per platform; the Unix
// one's run under cron is covered by the setup tests through the binary, the
// Windows one's by .ci/wine.sh.
func TestNextLine(t *testing.T) {
	for _, tt := range []struct {
		goos, exe string
		s         schedule
		how, line string
	}{
		{"linux", "/usr/local/bin/tokenkeeper", schedule{profile: "default", configRoot: "/home/u/.config/tokenkeeper", stateRoot: "/home/u/.local/state/tokenkeeper"},
			"from cron (crontab -e)",
			"*/30 * * * * TOKENKEEPER_CONFIG_DIR=/home/u/.config/tokenkeeper TOKENKEEPER_STATE_DIR=/home/u/.local/state/tokenkeeper /usr/local/bin/tokenkeeper refresh --quiet"},
		{"freebsd", "/usr/local/bin/tokenkeeper", schedule{profile: "eu", dir: "/home/u/my tk"},
			"from cron (crontab -e)",
			"*/30 * * * * TOKENKEEPER_DIR='/home/u/my tk' /usr/local/bin/tokenkeeper --profile eu refresh --quiet"},
		{"darwin", "/Users/u/go/bin/tokenkeeper", schedule{profile: "eu", dir: "/Users/u/R&D <tk>"},
			"with launchd (paste into Terminal)",
			`mkdir -p ~/Library/LaunchAgents && cat > ~/Library/LaunchAgents/dev.tokenkeeper.eu.plist <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>dev.tokenkeeper.eu</string>
  <key>ProgramArguments</key>
  <array>
    <string>/Users/u/go/bin/tokenkeeper</string>
    <string>--dir</string>
    <string>/Users/u/R&amp;D &lt;tk&gt;</string>
    <string>--profile</string>
    <string>eu</string>
    <string>refresh</string>
    <string>--quiet</string>
  </array>
  <key>StartInterval</key><integer>1800</integer>
</dict>
</plist>
EOF
launchctl bootstrap gui/$(id -u) ~/Library/LaunchAgents/dev.tokenkeeper.eu.plist`},
		{"windows", `C:\Users\u\go\bin\tokenkeeper.exe`, schedule{profile: "default", configRoot: `C:\Users\u\AppData\Local\tokenkeeper`, stateRoot: `C:\Users\u\AppData\Local\tokenkeeper`},
			"with the Task Scheduler, as you",
			`schtasks /Create /SC MINUTE /MO 30 /TN tokenkeeper-default /TR "C:\Users\u\go\bin\tokenkeeper.exe --config-dir C:\Users\u\AppData\Local\tokenkeeper --state-dir C:\Users\u\AppData\Local\tokenkeeper refresh --quiet"`},
		{"windows", `C:\Program Files\tokenkeeper\tokenkeeper.exe`, schedule{profile: "eu", dir: `D:\tk (eu)`},
			"with the Task Scheduler, as you",
			`schtasks /Create /SC MINUTE /MO 30 /TN tokenkeeper-eu /TR "\"C:\Program Files\tokenkeeper\tokenkeeper.exe\" --dir \"D:\tk (eu)\" --profile eu refresh --quiet"`},
	} {
		how, line := nextLine(tt.goos, tt.exe, tt.s)
		if how != tt.how || line != tt.line {
			t.Errorf("%s %+v:\ngot  %s\n     %s\nwant %s\n     %s", tt.goos, tt.s, how, line, tt.how, tt.line)
		}
	}
	// the default profile's agent names both roots and no profile
	_, line := nextLine("darwin", "/opt/homebrew/bin/tokenkeeper", schedule{profile: "default", configRoot: "/Users/u/Library/Application Support/tokenkeeper", stateRoot: "/Users/u/Library/Application Support/tokenkeeper"})
	for _, want := range []string{
		"dev.tokenkeeper.default.plist <<'EOF'\n",
		"<string>--config-dir</string>\n    <string>/Users/u/Library/Application Support/tokenkeeper</string>\n    <string>--state-dir</string>",
		"<string>refresh</string>\n    <string>--quiet</string>\n  </array>",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("darwin default profile: no %q in\n%s", want, line)
		}
	}
	if strings.Contains(line, "--profile") {
		t.Errorf("darwin default profile names --profile:\n%s", line)
	}
	for goos, want := range map[string]string{"linux": "cron", "darwin": "launchd", "windows": "the task"} {
		if got := keeper(goos); got != want {
			t.Errorf("keeper(%s) = %q, want %q", goos, got, want)
		}
	}
	if _, line := demoSchedule("windows"); line != `schtasks /Create /SC MINUTE /MO 30 /TN tokenkeeper /TR "tokenkeeper refresh --quiet"` {
		t.Errorf("demo's Windows line: %s", line)
	}
}
