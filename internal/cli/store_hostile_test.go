package cli

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A password in the store URL, wherever a confused user put it, is refused
// (exit 2) and never shown: not in text, JSON or verbose messages, whether
// the URL came from --store or TOKENKEEPER_STORE. Passwords may hold ?, /
// and # (which end a URL's host part) or come URL-encoded.
func TestStoreURLPasswordNeverShown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildTokenkeeper(t)
	const pw = "ssw0rdSECRET"
	dir := t.TempDir()
	for _, u := range []string{
		"etcd://bot:" + pw + "@127.0.0.1:2379",
		"etcd://bot:pa?" + pw + "@127.0.0.1:2379",
		"etcd://bot:pa/" + pw + "@127.0.0.1:2379/prefix",
		"etcds://bot:pa#" + pw + "@127.0.0.1:2379,127.0.0.2:2379?user=bot",
		"etcd://bot:p=a?" + pw + "@127.0.0.1:2379?user=bot",
		"etcd://127.0.0.1:2379?user=bot&password=" + pw,
		"etcd://127.0.0.1:2379?user=bot&pass%77ord=" + pw,
		"etcd://127.0.0.1:2379?user=bot&pass=" + pw,
		"etcd://127.0.0.1:2379?user=bot&" + pw,
		"etcd://127.0.0.1:2379?user=bot&password=" + pw + "%zz",
	} {
		for _, args := range [][]string{
			{"--store", u, "status"},
			{"--store", u, "-v", "--log-format", "json", "token"},
			{"status", "--json"},
		} {
			cmd := exec.Command(bin, append([]string{"--dir", dir}, args...)...)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TOKENKEEPER_STORE=" + u}
			o := runAll(t, []*exec.Cmd{cmd})[0]
			if o.code != exitUsage || strings.Contains(o.stdout+o.stderr, pw) {
				t.Errorf("URL %q, tokenkeeper %s: %s\nwant exit 2 and the password never shown", u, strings.Join(args, " "), o)
			}
		}
	}
}
