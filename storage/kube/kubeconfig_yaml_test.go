package kube

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	// Test-only: the reference the parser is compared with. It must never
	// be imported by a non-test file (package init cost, see
	// kubeconfig_yaml.go).
	"sigs.k8s.io/yaml"
)

// viaLibrary reads a kubeconfig as kubectl's YAML library does.
func viaLibrary(data []byte) (*kubeconfig, any, error) {
	j, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, nil, err
	}
	var kc kubeconfig
	if err := json.Unmarshal(j, &kc); err != nil {
		return nil, nil, err
	}
	var tree any
	err = json.Unmarshal(j, &tree)
	return &kc, tree, err
}

func jsonOf(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKubeconfigDifferential: the kubeconfigs kubectl, kind, minikube and
// the cloud CLIs write, one written by hand and one in JSON read as
// sigs.k8s.io/yaml reads them: the same kubeconfig, and for YAML the same
// whole document (extensions, exec's arguments…).
func TestKubeconfigDifferential(t *testing.T) {
	files, _ := filepath.Glob("testdata/kubeconfig/*")
	if len(files) < 8 {
		t.Fatalf("testdata/kubeconfig: %d files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, wantTree, err := viaLibrary(data)
			if err != nil {
				t.Fatalf("sigs.k8s.io/yaml: %v", err)
			}
			got, err := parseKubeconfig(data)
			if err != nil {
				t.Fatalf("parseKubeconfig: %v", err)
			}
			if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
				t.Errorf("kubeconfig:\n got %s\nwant %s", g, w)
			}
			if got.CurrentContext == "" || len(got.Clusters) == 0 || len(got.Users) == 0 {
				t.Errorf("read little: %+v", got)
			}
			if strings.HasSuffix(f, ".json") {
				return
			}
			tree, err := parseYAML(data)
			if err != nil {
				t.Fatal(err)
			}
			var gotTree any
			if err := json.Unmarshal([]byte(jsonOf(t, tree)), &gotTree); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gotTree, wantTree) {
				t.Errorf("document:\n got %s\nwant %s", jsonOf(t, gotTree), jsonOf(t, wantTree))
			}
		})
	}
}

// TestKubeconfigYAML: what the parser reads that the realistic files above
// do not show, and what it refuses, at which line and column.
func TestKubeconfigYAML(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"a: \"\\t\\\"\\\\\\u00e9\\x41\\U0001F600\\ \"\n", "{\"a\":\"\\t\\\"\\\\éA😀 \"}"},
		{"a: [\n  {b: c},\n  {d: e}\n]\nf: {\n}\n", `{"a":[{"b":"c"},{"d":"e"}],"f":{}}`},
		{"a: 'it''s # not a comment'\n", `{"a":"it's # not a comment"}`},
		{"a: one\n  two\n\n  three # c\nb: x#y\n", `{"a":"one two\nthree","b":"x#y"}`},
		{"a: \"one  \n   two\"\n", `{"a":"one two"}`},
		{"a:\n- x\n- - w\n  - z\n-\n  k: v\nb: ~\nc:\nd: null\ne: {}\nf: []\n", `{"a":["x",["w","z"],{"k":"v"}],"b":null,"c":null,"d":null,"e":{},"f":[]}`},
		{"a: {b: [1, 'two', {c: d}], e: , \"f\":g}\n", `{"a":{"b":["1","two",{"c":"d"}],"e":null,"f":"g"}}`},
		{"a: [x,\n  w]  # c\n", `{"a":["x","w"]}`},
		{"a: yes\nb: Off\nc: 0x1F\nd: 1.5\n", `{"a":true,"b":false,"c":"0x1F","d":"1.5"}`},
		{"---\na: b\n", `{"a":"b"}`},
		{"a:\tb\t# c\n\"c\" : 'd'\n", `{"a":"b","c":"d"}`},
		{"\xef\xbb\xbfa: b\r\n", `{"a":"b"}`},
		{"# nothing\n", `null`},
		{"", `null`},
	} {
		v, err := parseYAML([]byte(tt.in))
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		if got := jsonOf(t, v); got != tt.want {
			t.Errorf("%q: got %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, tt := range []struct{ in, want string }{
		{"a: &x b\nc: *x\n", "at 1:4: an anchor (&)"},
		{"a: b\nc: *x\n", "at 2:4: an alias (*)"},
		{"a: !!str b\n", "at 1:4: a tag (!)"},
		{"a: |\n  b\n", "at 1:4: a block scalar"},
		{"a: >-\n  b\n", "at 1:4: a block scalar"},
		{"a: b\n---\nc: d\n", "at 2:1: a second document"},
		{"a: b\n...\n", "at 2:1: a document end marker"},
		{"a:\n\tb: c\n", "at 2:1: a tab in the indentation"},
		{"a: b\na: c\n", "at 2:1: a key given twice"},
		{"a: {b: 1, b: 2}\n", "at 1:11: a key given twice"},
		{"a: b: c\n", "at 1:4: a ': ' in an unquoted value"},
		{"a: \"b\n", "at 1:4: a quoted value that does not end"},
		{"a: \"\\q\"\n", "at 1:5: an unknown escape"},
		{"a: \"\\/\"\n", "at 1:5: an unknown escape"},
		{"a: \"\\ud800\"\n", "at 1:5: a bad \\u escape"},
		{"a: [b, c\nd: e\n", "at 2:1: a flow collection's next line must be indented"},
		{"a: [b: c]\n", "at 1:6: expected ',' or ']'"},
		{"a: 'b' c\n", "at 1:7: text after a quoted value"},
		{"a:\n  b: c\n d: e\n", "at 3:2: indented more than the key before it"},
		{"a: b\n  c: d\n", "at 2:3: a ': ' in an unquoted value"},
		{"<<: {a: b}\n", "at 1:1: a merge key"},
		{"? a\n: b\n", "at 1:1: a complex key"},
		{"%YAML 1.1\n---\na: b\n", "at 1:1: a directive"},
		{"a: b\x00\n", "at 1:5: a control character"},
		{"a: \xff\n", "at 1:1: a line that is not UTF-8"},
		{strings.Repeat("- ", 40) + "x\n", "nested more than 32 deep"},
		{"a: " + strings.Repeat("[", 40) + "\n", "nested more than 32 deep"},
	} {
		_, err := parseYAML([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "not YAML tokenkeeper reads, at ") {
			t.Errorf("%q: got %v, want %q", tt.in, err, tt.want)
		}
	}
	// Not a kubeconfig: said with the field, and in JSON with the place.
	for in, want := range map[string]string{
		"- a\n":                       "not a kubeconfig: it is not a mapping",
		"clusters: x\n":               "not a kubeconfig: clusters cannot be a string",
		"{\"clusters\": 1}":           "not a kubeconfig, at 1:14: clusters cannot be a number",
		"{\n  \"clusters\": [}":       "not JSON, at 2:16:",
		"users: [{user: {token: 1}}]": "",
	} {
		_, err := parseKubeconfig([]byte(in))
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
}

// FuzzKubeconfigYAML: no input makes the parser panic, and whatever it and
// sigs.k8s.io/yaml both read, they read alike.
func FuzzKubeconfigYAML(f *testing.F) {
	files, _ := filepath.Glob("testdata/kubeconfig/*")
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(strings.Replace(kcTemplate, "CTX", "ctx1", 1)))
	f.Add([]byte("a: \"x\\\n  y\"\nb: 'c\n\n  d'\nc: [e, {f: g}]\n"))
	f.Add([]byte("users:\n- user:\n   eXeC:\n    Y:")) // YAML 1.1's Y inside what is refused anyway
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseKubeconfig(data)
		if err != nil {
			return
		}
		want, _, werr := viaLibrary(data)
		if werr != nil {
			return // refused by one: the parser reads numbers as strings, as kubectl does
		}
		// An exec plugin or an auth provider is refused whatever it holds:
		// only whether one is there counts (inside, the library reads YAML
		// 1.1's y, on, no… as booleans, which no field tokenkeeper reads is).
		for _, kc := range []*kubeconfig{got, want} {
			for i := range kc.Users {
				u := &kc.Users[i].User
				if len(u.Exec) > 0 && string(u.Exec) != "null" {
					u.Exec = json.RawMessage(`"present"`)
				}
				if len(u.AuthProvider) > 0 && string(u.AuthProvider) != "null" {
					u.AuthProvider = json.RawMessage(`"present"`)
				}
			}
		}
		if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
			t.Fatalf("got %s\nwant %s", g, w)
		}
	})
}
