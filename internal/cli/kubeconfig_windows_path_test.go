package cli

import (
	"slices"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
)

// TestKubeconfigWindowsPaths: the kubeconfig exec entry of docs/integrations.md
// with Windows paths, written as it says (plain or single-quoted YAML), gives
// kubectl's loader the paths as they are; double quotes would not.
func TestKubeconfigWindowsPaths(t *testing.T) {
	const kubeconfig = `apiVersion: v1
kind: Config
users:
- name: tokenkeeper
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: 'C:\Program Files\tokenkeeper\tokenkeeper.exe'
      args: ["--dir", 'C:\Users\me\tk', "token", "-o", "exec-credential"]
      interactiveMode: Never
`
	cfg, err := clientcmd.Load([]byte(kubeconfig))
	if err != nil {
		t.Fatal(err)
	}
	exec := cfg.AuthInfos["tokenkeeper"].Exec
	if exec.Command != `C:\Program Files\tokenkeeper\tokenkeeper.exe` ||
		!slices.Equal(exec.Args, []string{"--dir", `C:\Users\me\tk`, "token", "-o", "exec-credential"}) {
		t.Errorf("command %q, args %q", exec.Command, exec.Args)
	}
	if _, err := clientcmd.Load([]byte(`users: [{name: x, user: {exec: {command: "C:\Users\me\tk.exe"}}}]`)); err == nil {
		t.Errorf("a double-quoted Windows path loaded, as if YAML took \\U as it is")
	}
}
