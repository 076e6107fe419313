package credentials

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// keyAuthParams is the one field that is not a string: an object of extra
// authorization-request parameters (Google's access_type, Auth0's audience).
const keyAuthParams = "authParams"

// Parse decodes data, the content of the file at path (used in messages and
// made absolute in c.Path). It reports syntax errors (*SyntaxError, with
// line:column), and fields that are not JSON strings, synonyms that
// contradict their canonical field, or look-alike keys that would let a
// default win (*InvalidError, all at once). It does not
// check completeness: call Validate, or use Load which does both.
//
// Parse trims surrounding white space from every value (values are often
// pasted with a trailing newline), accepts null as "not set", applies the
// synonyms (clientID→appID, username→companyUUID, password→
// companyRequestToken) and the defaults (tokenURL→DefaultTokenURL,
// grantType→"password", authStyle→"params"), and turns unknown keys into
// Warnings, with a suggestion when the key looks like a known one.
func Parse(path string, data []byte) (*Credentials, error) {
	path = absPath(path)
	c, problems, err := parse(path, data)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, &InvalidError{Path: path, Problems: problems}
	}
	return c, nil
}

// member is one key/value pair of the top-level object, in file order.
type member struct {
	key string
	raw json.RawMessage
}

// parse is Parse returning the decoded value even when some fields have
// problems, so that Load can report those together with Validate's.
func parse(path string, data []byte) (*Credentials, []Problem, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // Windows editors add a BOM
	members, err := decodeObject(path, data)
	if err != nil {
		return nil, nil, err
	}
	c := &Credentials{Path: path}
	values, problems := c.collect(members)
	problems = append(problems, c.assign(values)...)
	problems = append(problems, c.shadowedDefaults()...)
	c.applyDefaults()
	return c, problems, nil
}

// shadowedDefaults reports a field that has a default, is not set, and has a
// look-alike unknown key ("TokenURL"): the default would silently win, and
// for tokenURL the secrets would go to an endpoint the user did not mean.
func (c *Credentials) shadowedDefaults() []Problem {
	var problems []Problem
	for _, name := range []string{"tokenURL", "grantType", "authStyle"} {
		key, ok := c.hints[name]
		if !ok || *c.field(name) != "" {
			continue
		}
		problems = append(problems, Problem{Field: name, Msg: fmt.Sprintf(
			"not set, so the default would be used, but the file has an unknown field %q: rename it to %q", key, name)})
	}
	return problems
}

// decodeObject checks that data is one JSON object and returns its members
// in file order.
func decodeObject(path string, data []byte) ([]member, error) {
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		// Notepad's "Unicode": encoding/json would call the mark an
		// invalid character 'ÿ', which says nothing of the cause.
		return nil, &SyntaxError{Path: path, Line: 1, Col: 1, Msg: "the file is UTF-16 (it begins with a UTF-16 byte-order mark); tokenkeeper reads UTF-8",
			Hint: "save the file as UTF-8 (in Notepad: Save As, Encoding UTF-8)"}
	}
	start := len(data) - len(bytes.TrimLeft(data, " \t\r\n"))
	if start == len(data) {
		return nil, &SyntaxError{Path: path, Msg: msgEmpty}
	}
	var obj map[string]json.RawMessage
	err := json.Unmarshal(data, &obj)
	var serr *json.SyntaxError
	switch {
	case errors.As(err, &serr):
		return nil, syntaxError(path, data, int(serr.Offset), serr.Error())
	case err != nil || obj == nil: // a valid JSON value that is not an object
		line, col := position(data, start)
		return nil, &SyntaxError{Path: path, Line: line, Col: col,
			Msg: "want a JSON object {…}, got " + kind(data[start:])}
	}
	// Walk the tokens again for the order of keys and to see duplicates,
	// which a map hides. The input is known to be valid here.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.Token() // {
	var members []member
	for dec.More() {
		tok, _ := dec.Token()
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, &SyntaxError{Path: path, Msg: err.Error()}
		}
		members = append(members, member{key: tok.(string), raw: raw})
	}
	return members, nil
}

// syntaxError places encoding/json's error: Offset counts the bytes read,
// so the offending byte is the one before it.
func syntaxError(path string, data []byte, offset int, msg string) *SyntaxError {
	pos := max(min(offset-1, len(data)), 0)
	line, col := position(data, pos)
	e := &SyntaxError{Path: path, Line: line, Col: col, Msg: msg}
	prev := bytes.TrimRight(data[:pos], " \t\r\n")
	switch {
	case strings.HasPrefix(msg, "invalid character '}'") || strings.HasPrefix(msg, "invalid character ']'"):
		if bytes.HasSuffix(prev, []byte(",")) {
			e.Hint = "remove the comma after the last field: JSON does not allow a trailing comma"
		}
	case strings.HasPrefix(msg, `invalid character '\''`):
		e.Hint = "JSON strings and names take double quotes (\"), not single quotes"
	case strings.HasPrefix(msg, `invalid character '"' after object key:value pair`):
		e.Hint = "a comma is missing between two fields"
	}
	return e
}

// position turns a byte offset into a 1-based line and a 1-based column
// counted in characters, as editors show them.
func position(data []byte, pos int) (line, col int) {
	before := data[:pos]
	line = 1 + bytes.Count(before, []byte("\n"))
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[lineStart:]) + 1
}

// kind names the JSON type of a raw value for messages (never its content).
func kind(raw []byte) string {
	switch raw[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// collect sorts members into known fields (keyed by the name as written)
// and unknown keys (warnings), and reports values that are not strings. A
// key given twice counts once, with its last value, as encoding/json does.
func (c *Credentials) collect(members []member) (map[string]string, []Problem) {
	last := make(map[string]json.RawMessage)
	count := make(map[string]int)
	var order []string
	for _, m := range members {
		if count[m.key]++; count[m.key] == 1 {
			order = append(order, m.key)
		} else if count[m.key] == 2 {
			c.Warnings = append(c.Warnings, fmt.Sprintf("field %.64q appears more than once; the last one is used", m.key))
		}
		last[m.key] = m.raw
	}
	values := make(map[string]string)
	var problems []Problem
	for _, key := range order {
		if key == keyAuthParams {
			if p, ok := c.collectAuthParams(last[key]); !ok {
				problems = append(problems, p)
			}
			continue
		}
		if canonical(key) == "" {
			c.warnUnknown(key)
			continue
		}
		switch k := kind(last[key]); k {
		case "string":
			if !utf8.Valid(last[key]) {
				// encoding/json would make each bad byte U+FFFD: a
				// password saved as Latin-1 would be sent changed, and
				// refused with nothing to show why.
				problems = append(problems, Problem{Field: key, Msg: "is not valid UTF-8 (saved in another encoding, such as Latin-1?); save the file as UTF-8"})
				continue
			}
			var s string
			json.Unmarshal(last[key], &s) // a valid string token cannot fail
			values[key] = strings.TrimSpace(s)
		case "null":
			values[key] = ""
		default:
			problems = append(problems, Problem{Field: key, Msg: wrongType(k)})
		}
	}
	return values, problems
}

// collectAuthParams reads authParams: an object whose values are strings.
func (c *Credentials) collectAuthParams(raw json.RawMessage) (Problem, bool) {
	if k := kind(raw); k == "null" {
		return Problem{}, true
	} else if k != "object" {
		return Problem{Field: keyAuthParams, Msg: "want an object of strings like {\"prompt\": \"consent\"}, got " + k}, false
	}
	var m map[string]json.RawMessage
	json.Unmarshal(raw, &m) // a valid object token cannot fail
	c.AuthParams = make(map[string]string, len(m))
	for k, v := range m {
		var s string
		if kind(v) != "string" || json.Unmarshal(v, &s) != nil {
			return Problem{Field: keyAuthParams, Msg: fmt.Sprintf("%.64q: %s", k, wrongType(kind(v)))}, false
		}
		c.AuthParams[k] = strings.TrimSpace(s)
	}
	return Problem{}, true
}

func wrongType(kind string) string {
	msg := "want a string, got " + kind
	if kind == "number" || kind == "boolean" {
		msg += " (put the value in double quotes)"
	}
	return msg
}

// canonical returns the canonical name for a canonical name or a synonym,
// and "" for anything else.
func canonical(key string) string {
	if name, ok := synonymOf(key); ok {
		return name
	}
	if f := FieldNamed(key); f != nil {
		return f.Name
	}
	return ""
}

// assign copies values into c, resolving synonyms: a synonym fills an empty
// field; a synonym and its field both set to different values is a problem,
// since either may be the stale one.
func (c *Credentials) assign(values map[string]string) []Problem {
	for _, f := range Fields {
		*f.get(c) = values[f.Name]
	}
	var problems []Problem
	for _, f := range Fields {
		for _, syn := range f.Synonyms {
			v, ok := values[syn]
			if !ok {
				continue
			}
			switch cur := f.get(c); {
			case *cur == "":
				*cur = v
			case v != "" && v != *cur:
				problems = append(problems, Problem{Field: f.Name, Msg: fmt.Sprintf(
					"set both as %q and as its synonym %q, to different values; keep one", f.Name, syn)})
			}
		}
	}
	return problems
}

func (c *Credentials) applyDefaults() {
	if c.TokenURL == "" && c.Issuer == "" { // with an issuer, discovery finds it
		c.TokenURL = DefaultTokenURL
	}
	if c.GrantType == "" {
		c.GrantType = GrantPassword
	}
	if c.AuthStyle == "" {
		c.AuthStyle = AuthParams
	}
}

// warnUnknown records an unknown key, with the known name it most likely
// means, if any.
func (c *Credentials) warnUnknown(key string) {
	name := suggest(key)
	if name == "" {
		c.Warnings = append(c.Warnings, fmt.Sprintf("unknown field %.64q (ignored)", key))
		return
	}
	c.Warnings = append(c.Warnings, fmt.Sprintf("unknown field %q (did you mean %q?)", key, name))
	if c.hints == nil {
		c.hints = make(map[string]string)
	}
	if _, ok := c.hints[name]; !ok {
		c.hints[name] = key
	}
}

// synonymOf is the field a synonym stands for.
func synonymOf(key string) (string, bool) {
	for _, f := range Fields {
		for _, s := range f.Synonyms {
			if s == key {
				return f.Name, true
			}
		}
	}
	return "", false
}
