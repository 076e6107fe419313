package cli

import (
	"fmt"
	"strings"
	"testing"
)

// TestRootHelpExitCodes: the root help's exit codes come from the exit table,
// every row, through the binary.
func TestRootHelpExitCodes(t *testing.T) {
	t.Parallel()
	stdout, _, code := ftRun(t, nil, "--help")
	if code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	text := strings.Join(strings.Fields(stdout), " ")
	for _, r := range exitTable {
		if want := fmt.Sprintf("%d %s", r.code, r.meaning); !strings.Contains(text, want) {
			t.Errorf("--help does not say %q:\n%s", want, stdout)
		}
	}
}
