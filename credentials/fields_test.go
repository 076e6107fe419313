package credentials

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// fieldNames are the table's names, in template order.
var fieldNames = func() []string {
	var out []string
	for _, f := range Fields {
		out = append(out, f.Name)
	}
	return out
}()

// TestFieldTableMatchesStruct: the table names every JSON string field of
// Credentials, in the struct's (the template's) order, and points at it.
func TestFieldTableMatchesStruct(t *testing.T) {
	var tags []string
	typ := reflect.TypeFor[Credentials]()
	for i := range typ.NumField() {
		// authParams, an object, is the one field that is no string: parse.go
		// reads it on its own.
		if tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ","); tag != "" && tag != "-" && typ.Field(i).Type.Kind() == reflect.String {
			tags = append(tags, tag)
		}
	}
	if !slices.Equal(tags, fieldNames) {
		t.Fatalf("struct fields %q, table %q", tags, fieldNames)
	}
	c := &Credentials{}
	for _, f := range Fields {
		*f.Ptr(c) = "v-" + f.Name
	}
	var m map[string]string
	if err := json.Unmarshal(c.marshal(), &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range Fields {
		if m[f.Name] != "v-"+f.Name {
			t.Errorf("field %s points at another struct field (%q)", f.Name, m[f.Name])
		}
	}
	if got := SecretEnv(); !slices.Equal(got, []string{"TOKENKEEPER_CLIENT_SECRET", "TOKENKEEPER_COMPANY_REQUEST_TOKEN", "TOKENKEEPER_REFRESH_TOKEN"}) {
		t.Errorf("SecretEnv() = %q", got)
	}
}
