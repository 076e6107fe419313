package cli

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// nextLine is the advice of setup and login that keeps a profile renewed:
// how the platform schedules a command, and the line that schedules
// `tokenkeeper refresh --quiet` every 30 minutes for this profile, with its
// directories spelled out. Cron runs without the XDG variables, so they go
// into its line as the TOKENKEEPER_* variables; the Windows Task Scheduler
// and launchd take the flags. On macOS the line is a LaunchAgent, what a Mac
// user expects (cron works there too, but launchd is macOS's own scheduler and
// runs a missed interval after sleep): a shell snippet that writes the plist
// and loads it.
// s names the profile: its name, and either dir (the --dir layout) or the
// roots holding a directory per profile.
func nextLine(goos, exe string, s schedule) (how, line string) {
	if goos == "darwin" {
		return "with launchd (paste into Terminal)", launchAgent(exe, s)
	}
	if goos == "windows" {
		args := "--config-dir " + winQuote(s.configRoot) + " --state-dir " + winQuote(s.stateRoot)
		if s.dir != "" {
			args = "--dir " + winQuote(s.dir)
		}
		if s.profile != "default" {
			args += " --profile " + winQuote(s.profile)
		}
		return "with the Task Scheduler, as you",
			fmt.Sprintf(`schtasks /Create /SC MINUTE /MO 30 /TN tokenkeeper-%s /TR "%s %s refresh --quiet"`, s.profile, winQuote(exe), args)
	}
	env := fmt.Sprintf("TOKENKEEPER_CONFIG_DIR=%s TOKENKEEPER_STATE_DIR=%s", shellQuote(s.configRoot), shellQuote(s.stateRoot))
	if s.dir != "" {
		env = "TOKENKEEPER_DIR=" + shellQuote(s.dir)
	}
	profile := ""
	if s.profile != "default" {
		profile = " --profile " + shellQuote(s.profile)
	}
	return "from cron (crontab -e)", fmt.Sprintf("*/30 * * * * %s %s%s refresh --quiet", env, shellQuote(exe), profile)
}

// launchAgent is the darwin line of nextLine: a LaunchAgent that runs
// refresh every 1800 s, written to ~/Library/LaunchAgents and loaded into the
// user's GUI session. The heredoc is quoted, so the shell expands nothing in
// the plist; the plist's strings are XML-escaped, and launchd passes each
// ProgramArguments entry as one argument, unquoted.
func launchAgent(exe string, s schedule) string {
	label := "dev.tokenkeeper." + s.profile // a profile name is letters, digits, '.', '_', '-'
	args := []string{exe, "--config-dir", s.configRoot, "--state-dir", s.stateRoot}
	if s.dir != "" {
		args = []string{exe, "--dir", s.dir}
	}
	if s.profile != "default" {
		args = append(args, "--profile", s.profile)
	}
	args = append(args, "refresh", "--quiet")
	var b strings.Builder
	path := "~/Library/LaunchAgents/" + label + ".plist"
	fmt.Fprintf(&b, "mkdir -p ~/Library/LaunchAgents && cat > %s <<'EOF'\n", path)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>` + xmlText(label) + `</string>
  <key>ProgramArguments</key>
  <array>
`)
	for _, a := range args {
		b.WriteString("    <string>" + xmlText(a) + "</string>\n")
	}
	b.WriteString(`  </array>
  <key>StartInterval</key><integer>1800</integer>
</dict>
</plist>
EOF
`)
	fmt.Fprintf(&b, "launchctl bootstrap gui/$(id -u) %s", path)
	return b.String()
}

// xmlText escapes s for a plist's <string>.
func xmlText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to memory: cannot fail
	return b.String()
}

// keeper names what runs the scheduled refresh, for setup's note on a
// short-lived access token.
func keeper(goos string) string {
	switch goos {
	case "windows":
		return "the task"
	case "darwin":
		return "launchd"
	}
	return "cron"
}

// schedule is what nextLine needs of a profile's paths.
type schedule struct{ profile, dir, configRoot, stateRoot string }

// demoSchedule is the demo's closing advice: the scheduler line in general.
func demoSchedule(goos string) (what, line string) {
	if goos == "windows" {
		return "a scheduled task", `schtasks /Create /SC MINUTE /MO 30 /TN tokenkeeper /TR "tokenkeeper refresh --quiet"`
	}
	if goos == "darwin" {
		return "the LaunchAgent setup prints, or a cron line", "*/30 * * * * tokenkeeper refresh --quiet"
	}
	return "a cron line", "*/30 * * * * tokenkeeper refresh --quiet"
}

// winQuote quotes a path inside schtasks' /TR "…" when it needs it: \" is how
// schtasks takes a quote within the command it stores.
func winQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t&|<>^()%!\"'") {
		return s
	}
	return `\"` + s + `\"`
}
