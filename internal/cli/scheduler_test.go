package cli

import "testing"

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
		{"darwin", "/Users/u/go/bin/tokenkeeper", schedule{profile: "eu", dir: "/Users/u/my tk"},
			"from cron (crontab -e)",
			"*/30 * * * * TOKENKEEPER_DIR='/Users/u/my tk' /Users/u/go/bin/tokenkeeper --profile eu refresh --quiet"},
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
	if _, line := demoSchedule("windows"); line != `schtasks /Create /SC MINUTE /MO 30 /TN tokenkeeper /TR "tokenkeeper refresh --quiet"` {
		t.Errorf("demo's Windows line: %s", line)
	}
}
