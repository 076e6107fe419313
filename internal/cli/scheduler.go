package cli

import (
	"fmt"
	"strings"
)

// nextLine is the advice of setup and login that keeps a profile renewed:
// how the platform schedules a command, and the line that schedules
// `tokenkeeper refresh --quiet` every 30 minutes for this profile, with its
// directories spelled out. Cron (Unix, macOS included) runs without the XDG
// variables, so they go into its line as the TOKENKEEPER_* variables; the
// Windows Task Scheduler takes no environment, so its line uses the flags.
// s names the profile: its name, and either dir (the --dir layout) or the
// roots holding a directory per profile.
func nextLine(goos, exe string, s schedule) (how, line string) {
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

// schedule is what nextLine needs of a profile's paths.
type schedule struct{ profile, dir, configRoot, stateRoot string }

// demoSchedule is the demo's closing advice: the scheduler line in general.
func demoSchedule(goos string) (what, line string) {
	if goos == "windows" {
		return "a scheduled task", `schtasks /Create /SC MINUTE /MO 30 /TN tokenkeeper /TR "tokenkeeper refresh --quiet"`
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
