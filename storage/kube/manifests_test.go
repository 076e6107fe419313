package kube

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestGuideManifests: the manifests of docs/kubernetes.md pass kubectl's
// server-side dry run against the test API server (the namespace they name
// exists, as the guide assumes).
func TestGuideManifests(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not found: install it to check the guide's manifests")
	}
	s := server(t)
	guide, err := os.ReadFile(filepath.Join("..", "..", "docs", "kubernetes.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(guide, -1)
	if len(blocks) == 0 {
		t.Fatal("no yaml block in docs/kubernetes.md")
	}
	var all []string
	for _, b := range blocks {
		all = append(all, string(b[1]))
	}
	dir := t.TempDir()
	manifests := filepath.Join(dir, "manifests.yaml")
	if err := os.WriteFile(manifests, []byte(strings.Join(all, "\n---\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"ServiceAccount", "Role", "RoleBinding", "CronJob", "Deployment", "Lease"} {
		if !strings.Contains(strings.Join(all, ""), "kind: "+kind+"\n") {
			t.Errorf("the guide's manifests have no %s", kind)
		}
	}
	s.Namespace("apps")
	kc := s.Kubeconfig(filepath.Join(dir, "kubeconfig"), "", "apps")
	cmd := exec.Command(kubectl, "apply", "--dry-run=server", "-f", manifests)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kc)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=server: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "(server dry run)"); n != 8 {
		t.Errorf("kubectl applied %d objects, want 8:\n%s", n, out)
	}
	t.Logf("%s", out)
}
