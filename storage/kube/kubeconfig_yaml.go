package kube

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The kubeconfig's YAML is read by the small parser below, not by a YAML
// library: Go initialises every linked package at start-up, and a YAML
// library's tables (and the regular expressions it compiles) would be paid
// for by every run of the binary, `tokenkeeper token` on the file store
// included (docs/contract.md §6).
//
// It reads what kubectl and the tools that write kubeconfigs (kind,
// minikube, the cloud CLIs) write, and the flow style people type by hand:
// block mappings and sequences; plain, 'single-' and "double-quoted"
// scalars, over several lines too; flow mappings and sequences ({a: b},
// [a, b]); comments; a leading "---". A plain scalar is null (~, null, or
// nothing), a YAML 1.1 boolean (true, yes, on… as kubectl's YAML library
// reads them), or else the string it is: an unquoted number is a string, as
// kubectl reads it into a string field. Anything else — anchors and
// aliases, tags, block scalars (| >), several documents, a key given twice,
// a tab in the indentation — is refused, at its line and column, rather
// than guessed at; a file that starts with "{" is JSON, read by
// encoding/json, and `kubectl config view --raw --flatten -o json` turns any
// kubeconfig into one.

// maxDepth caps nesting (a kubeconfig nests about six deep), so that a
// crafted file cannot exhaust the stack.
const maxDepth = 32

// yamlError is a refusal at a place in the file.
type yamlError struct {
	line, col int
	msg       string
}

func (e *yamlError) Error() string {
	return fmt.Sprintf("not YAML tokenkeeper reads, at %d:%d: %s", e.line, e.col, e.msg)
}

// yline is one line of the file: text starts at column indent (0-based).
// An item's content ("- key: v") is parsed as a line of its own, indented
// to where the content starts.
type yline struct {
	n, indent int
	text      string
}

type yparser struct {
	lines []yline
	i     int
	depth int
}

// decodeKubeconfig reads one kubeconfig file into kc: JSON when it starts
// with "{", else the YAML described above.
func decodeKubeconfig(data []byte, kc *kubeconfig) error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		err := json.Unmarshal(data, kc)
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			l, c := position(data, se.Offset)
			// Not encoding/json's message: it quotes the character, which
			// may be a credential's.
			return fmt.Errorf("not JSON, at %d:%d: a syntax error", l, c)
		case errors.As(err, &te) && te.Field != "":
			l, c := position(data, te.Offset)
			return fmt.Errorf("not a kubeconfig, at %d:%d: %s cannot be a %s", l, c, te.Field, te.Value)
		case err != nil:
			return errors.New("not a kubeconfig (clusters, users, contexts)")
		}
		return nil
	}
	v, err := parseYAML(data)
	if err != nil {
		return err
	}
	switch v.(type) {
	case nil:
		return nil
	case map[string]any:
	default:
		return errors.New("not a kubeconfig: it is not a mapping (clusters, users, contexts)")
	}
	j, err := json.Marshal(v)
	if err != nil {
		return errors.New("not a kubeconfig (clusters, users, contexts)")
	}
	if err := json.Unmarshal(j, kc); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("not a kubeconfig: %s cannot be a %s", te.Field, te.Value)
		}
		return errors.New("not a kubeconfig (clusters, users, contexts)")
	}
	return nil
}

// position is the 1-based line and column of the byte encoding/json read
// last when it stopped at offset off.
func position(data []byte, off int64) (int, int) {
	before := data[:min(max(off, 1), int64(len(data)))]
	nl := bytes.LastIndexByte(before, '\n')
	return bytes.Count(before, []byte("\n")) + 1, max(len(before)-nl-1, 1)
}

// parseYAML gives the document as map[string]any, []any, string, bool or nil.
func parseYAML(data []byte) (any, error) {
	p := &yparser{}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	for n, raw := range strings.Split(string(data), "\n") {
		raw = strings.TrimSuffix(raw, "\r")
		if !utf8.ValidString(raw) {
			return nil, &yamlError{n + 1, 1, "a line that is not UTF-8"}
		}
		for c := 0; c < len(raw); c++ {
			if b := raw[c]; b < 0x20 && b != '\t' || b == 0x7f {
				return nil, &yamlError{n + 1, c + 1, "a control character"}
			}
		}
		ind := len(raw) - len(strings.TrimLeft(raw, " "))
		text := raw[ind:]
		if strings.HasPrefix(text, "\t") {
			if t := strings.TrimLeft(text, " \t"); t != "" && t[0] != '#' {
				return nil, &yamlError{n + 1, ind + 1, "a tab in the indentation (YAML indents with spaces)"}
			}
			text = ""
		}
		p.lines = append(p.lines, yline{n + 1, ind, strings.TrimRight(text, " \t")})
	}
	if l, ok := p.next(); ok && l.indent == 0 && marker(l.text, "---") {
		if rest := strings.TrimLeft(l.text[3:], " "); rest != "" && rest[0] != '#' {
			return nil, p.errAt(l, 4, "content after ---")
		}
		p.i++
	}
	if l, ok := p.next(); ok && l.indent == 0 && l.text[0] == '%' {
		return nil, p.errAt(l, 0, "a directive (%)")
	}
	v, err := p.node(-1)
	if err != nil {
		return nil, err
	}
	if l, ok := p.next(); ok {
		switch {
		case l.indent == 0 && marker(l.text, "---"):
			return nil, p.errAt(l, 0, "a second document (---): one kubeconfig is one document")
		case l.indent == 0 && marker(l.text, "..."):
			return nil, p.errAt(l, 0, "a document end marker (...)")
		}
		return nil, p.errAt(l, 0, "unexpected indentation or content")
	}
	return v, nil
}

func docMarker(l yline) bool {
	return l.indent == 0 && (marker(l.text, "---") || marker(l.text, "..."))
}

func marker(text, m string) bool {
	return strings.HasPrefix(text, m) && (len(text) == 3 || blank(text[3]))
}

func (p *yparser) errAt(l yline, off int, msg string) error {
	return &yamlError{l.n, l.indent + off + 1, msg}
}

// next skips blank and comment lines and returns the line it stops at.
func (p *yparser) next() (yline, bool) {
	for ; p.i < len(p.lines); p.i++ {
		if l := p.lines[p.i]; l.text != "" && l.text[0] != '#' {
			return l, true
		}
	}
	return yline{}, false
}

// blank is YAML's white space within a line.
func blank(b byte) bool { return b == ' ' || b == '\t' }

func isItem(text string) bool { return text == "-" || strings.HasPrefix(text, "- ") }

func (p *yparser) enter(l yline) error {
	if p.depth++; p.depth > maxDepth {
		return p.errAt(l, 0, fmt.Sprintf("nested more than %d deep", maxDepth))
	}
	return nil
}

// node parses the block node at the next line when that line is indented
// more than min; there is none (null) otherwise.
func (p *yparser) node(min int) (any, error) {
	l, ok := p.next()
	if !ok || l.indent <= min {
		return nil, nil
	}
	if isItem(l.text) {
		return p.seq(l.indent)
	}
	if _, _, ok, err := p.key(l); err != nil {
		return nil, err
	} else if ok {
		return p.mapping(l.indent)
	}
	return p.inline(0, min)
}

// seq parses a block sequence whose items start at column ind.
func (p *yparser) seq(ind int) (any, error) {
	if err := p.enter(p.lines[p.i]); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	out := []any{}
	for {
		l, ok := p.next()
		if !ok || l.indent < ind || l.indent == ind && !isItem(l.text) || docMarker(l) {
			return out, nil
		}
		if l.indent > ind {
			return nil, p.errAt(l, 0, "indented more than the item before it")
		}
		rest := strings.TrimLeft(l.text[1:], " ")
		if rest == "" || rest[0] == '#' {
			p.i++
		} else {
			p.lines[p.i] = yline{l.n, l.indent + len(l.text) - len(rest), rest}
		}
		v, err := p.node(ind)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
}

// mapping parses a block mapping whose keys start at column ind.
func (p *yparser) mapping(ind int) (any, error) {
	if err := p.enter(p.lines[p.i]); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	out := map[string]any{}
	for {
		l, ok := p.next()
		if !ok || l.indent < ind || docMarker(l) {
			return out, nil
		}
		if l.indent > ind {
			return nil, p.errAt(l, 0, "indented more than the key before it")
		}
		k, rc, ok, err := p.key(l)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, p.errAt(l, 0, "a line that is not KEY: VALUE among the keys of a mapping")
		}
		if _, dup := out[k]; dup {
			return nil, p.errAt(l, 0, "a key given twice in one mapping")
		}
		var v any
		if rest := l.text[rc:]; rest == "" || rest[0] == '#' {
			p.i++
			switch nl, ok := p.next(); {
			case ok && nl.indent > ind:
				v, err = p.node(ind)
			case ok && nl.indent == ind && isItem(nl.text):
				v, err = p.seq(ind)
			}
		} else {
			v, err = p.inline(rc, ind)
		}
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
}

// key reads "KEY:" at the start of l: the key and the offset of what
// follows the colon and its spaces; ok is false when l is not a key line.
func (p *yparser) key(l yline) (k string, rc int, ok bool, err error) {
	t := l.text
	var end int // just after the key
	switch t[0] {
	case '{', '[':
		return "", 0, false, nil
	case '"', '\'':
		e := quoteEnd(t)
		if e < 0 {
			return "", 0, false, nil
		}
		end = e
		for end < len(t) && blank(t[end]) {
			end++
		}
		if end == len(t) || t[end] != ':' || end+1 < len(t) && !blank(t[end+1]) {
			return "", 0, false, nil
		}
		s, _, _, err := p.quoted(p.i, 0, 1<<30)
		if err != nil {
			return "", 0, false, err
		}
		k = s
	case '?':
		if len(t) == 1 || blank(t[1]) {
			return "", 0, false, p.errAt(l, 0, "a complex key (?)")
		}
		fallthrough
	default:
		end = -1
		for j := 0; j < len(t); j++ {
			if t[j] == '#' && j > 0 && blank(t[j-1]) {
				break
			}
			if t[j] == ':' && (j+1 == len(t) || blank(t[j+1])) {
				end = j
				break
			}
		}
		if end < 0 {
			return "", 0, false, nil
		}
		k = strings.TrimRight(t[:end], " \t")
		if k == "" {
			return "", 0, false, p.errAt(l, 0, "an empty key")
		}
		if msg := badStart(k); msg != "" {
			return "", 0, false, p.errAt(l, 0, msg)
		}
		if k == "<<" {
			return "", 0, false, p.errAt(l, 0, "a merge key (<<)")
		}
	}
	rc = end + 1
	for rc < len(t) && blank(t[rc]) {
		rc++
	}
	return k, rc, true, nil
}

// quoteEnd is the offset just after the quoted scalar that starts t, or -1
// when it does not end on this line.
func quoteEnd(t string) int {
	q := t[0]
	for j := 1; j < len(t); j++ {
		switch {
		case q == '"' && t[j] == '\\':
			j++
		case t[j] == q && q == '\'' && j+1 < len(t) && t[j+1] == '\'':
			j++
		case t[j] == q:
			return j + 1
		}
	}
	return -1
}

// badStart says why an unquoted scalar cannot start as s does ("" when it
// can).
func badStart(s string) string {
	if s == "" {
		return ""
	}
	switch s[0] {
	case '&':
		return "an anchor (&): anchors and aliases are not read"
	case '*':
		return "an alias (*): anchors and aliases are not read"
	case '!':
		return "a tag (!): tags are not read"
	case '|', '>':
		return "a block scalar (| or >): block scalars are not read"
	case '%', '@', '`':
		return "a reserved character (" + s[:1] + ") at the start of an unquoted value: quote it"
	case ',', '[', ']', '{', '}', '#':
		return "an unexpected " + s[:1]
	case '-', '?', ':':
		if len(s) == 1 || blank(s[1]) {
			return "an unexpected " + s[:1] + " (an item or key where a value was expected)"
		}
	}
	return ""
}

// inline parses the value that starts at offset rc of the current line and
// may go on over the lines below indented more than min.
func (p *yparser) inline(rc, min int) (any, error) {
	l := p.lines[p.i]
	t := l.text[rc:]
	var v any
	var li, end int
	var err error
	switch t[0] {
	case '"', '\'':
		v, li, end, err = p.quoted(p.i, rc, min)
	case '{', '[':
		v, li, end, err = p.flow(p.i, rc, min)
	default:
		return p.plain(rc, min)
	}
	if err != nil {
		return nil, err
	}
	if rest := p.lines[li].text[end:]; rest != "" && (!blank(rest[0]) || strings.TrimLeft(rest, " \t")[0] != '#') {
		return nil, p.errAt(p.lines[li], end, "text after a quoted value or a flow collection")
	}
	p.i = li + 1
	return v, nil
}

// plain parses an unquoted scalar in block context, folding the lines it
// goes on over as YAML does (a line break is a space, an empty line a
// newline).
func (p *yparser) plain(rc, min int) (any, error) {
	l := p.lines[p.i]
	part := func(l yline, off int) (string, bool, error) {
		t := l.text[off:]
		comment := false
		for j := 1; j < len(t); j++ {
			if t[j] == '#' && blank(t[j-1]) {
				t, comment = strings.TrimRight(t[:j], " \t"), true
				break
			}
		}
		if msg := badStart(t); msg != "" {
			return "", false, p.errAt(l, off, msg)
		}
		if strings.Contains(t, ": ") || strings.Contains(t, ":\t") || strings.HasSuffix(t, ":") {
			return "", false, p.errAt(l, off, "a ': ' in an unquoted value (quote the value)")
		}
		return t, comment, nil
	}
	first, comment, err := part(l, rc)
	if err != nil {
		return nil, err
	}
	var s strings.Builder // not +=: a long run of lines would be quadratic
	s.WriteString(first)
	p.i++
	for blanks := 0; !comment && p.i < len(p.lines); p.i++ {
		l := p.lines[p.i]
		if l.text == "" {
			blanks++
			continue
		}
		if l.indent <= min || l.text[0] == '#' {
			break
		}
		if isItem(l.text) {
			return nil, p.errAt(l, 0, "an item (- ) where an unquoted value goes on")
		}
		t, c, err := part(l, 0)
		if err != nil {
			return nil, err
		}
		if blanks == 0 {
			s.WriteByte(' ')
		}
		s.WriteString(strings.Repeat("\n", blanks))
		s.WriteString(t)
		blanks, comment = 0, c
	}
	return resolve(s.String()), nil
}

// resolve types a plain scalar as kubectl's YAML library does for null and
// booleans; anything else is a string.
func resolve(s string) any {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return nil
	case "true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON":
		return true
	case "false", "False", "FALSE", "no", "No", "NO", "n", "N", "off", "Off", "OFF":
		return false
	}
	return s
}

// quoted parses the quoted scalar that starts at offset off of line li;
// its continuation lines must be indented more than min. It returns the
// string and the line and offset just after the closing quote.
func (p *yparser) quoted(li, off, min int) (string, int, int, error) {
	l := p.lines[li]
	q := l.text[off]
	var b []byte
	keep := 0      // b's length that trimming the spaces before a line break must not cut into
	escNL := false // the line ended in a backslash: the break is dropped
	for j := off + 1; ; {
		t := p.lines[li].text
		if j >= len(t) {
			if !escNL {
				end := len(b)
				for end > keep && (b[end-1] == ' ' || b[end-1] == '\t') {
					end--
				}
				b = b[:end]
			}
			blanks := 0
			for li++; ; li++ {
				if li >= len(p.lines) {
					return "", 0, 0, p.errAt(l, off, "a quoted value that does not end")
				}
				if p.lines[li].text != "" {
					break
				}
				blanks++
			}
			if p.lines[li].indent <= min {
				return "", 0, 0, p.errAt(p.lines[li], 0, "a quoted value's next line must be indented more than its key")
			}
			switch {
			case blanks > 0:
				b = append(b, strings.Repeat("\n", blanks)...)
			case !escNL:
				b = append(b, ' ')
			}
			keep, j, escNL = len(b), 0, false
			continue
		}
		c := t[j]
		switch {
		case c == q && q == '\'' && j+1 < len(t) && t[j+1] == '\'':
			b = append(b, '\'')
			j += 2
		case c == q:
			return string(b), li, j + 1, nil
		case c == '\\' && q == '"' && j+1 == len(t):
			escNL = true
			j++
		case c == '\\' && q == '"':
			n, r, err := unescape(t[j+1:])
			if err != nil {
				return "", 0, 0, p.errAt(p.lines[li], j, err.Error())
			}
			b = append(b, r...)
			j += 1 + n
			keep = len(b)
		default:
			b = append(b, c)
			j++
		}
	}
}

// unescape reads the escape after a backslash in a double-quoted scalar: how
// many bytes it takes and what it stands for.
func unescape(t string) (int, []byte, error) {
	simple := map[byte]string{'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", '\t': "\t", 'n': "\n", 'v': "\v",
		'f': "\f", 'r': "\r", 'e': "\x1b", ' ': " ", '"': `"`, '\\': `\`,
		'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029"}
	if s, ok := simple[t[0]]; ok {
		return 1, []byte(s), nil
	}
	n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[t[0]]
	if n == 0 || len(t) < 1+n {
		return 0, nil, errors.New("an unknown escape in a double-quoted value")
	}
	v, err := strconv.ParseUint(t[1:1+n], 16, 32)
	if err != nil || v >= 0xd800 && v <= 0xdfff || v > utf8.MaxRune {
		return 0, nil, errors.New("a bad \\" + t[:1] + " escape in a double-quoted value")
	}
	return 1 + n, utf8.AppendRune(nil, rune(v)), nil
}

// flow parses the flow collection ({…} or […]) at offset off of line li,
// over lines indented more than min; it returns the line and offset just
// after it.
func (p *yparser) flow(li, off, min int) (any, int, int, error) {
	c := &fcursor{p: p, li: li, j: off, min: min}
	v, err := c.value(false)
	return v, c.li, c.j, err
}

type fcursor struct {
	p     *yparser
	li, j int
	min   int
}

func (c *fcursor) err(msg string) error { return c.p.errAt(c.p.lines[c.li], c.j, msg) }

// peek skips spaces, comments and line breaks and returns the next byte.
func (c *fcursor) peek() (byte, error) {
	for {
		t := c.p.lines[c.li].text
		for c.j < len(t) && blank(t[c.j]) {
			c.j++
		}
		if c.j < len(t) && (t[c.j] != '#' || c.j > 0 && !blank(t[c.j-1])) {
			return t[c.j], nil
		}
		start := c.li
		for c.li++; c.li < len(c.p.lines) && c.p.lines[c.li].text == ""; c.li++ {
		}
		if c.li >= len(c.p.lines) {
			c.li, c.j = start, len(c.p.lines[start].text)
			return 0, c.err("a flow collection that does not end")
		}
		// The closing bracket may stand under the key, as in JSON.
		c.j = 0
		if l := c.p.lines[c.li]; l.indent < c.min || l.indent == c.min && l.text[0] != ']' && l.text[0] != '}' {
			return 0, c.err("a flow collection's next line must be indented more than its key")
		}
		c.j = 0
	}
}

func (c *fcursor) value(key bool) (any, error) {
	b, err := c.peek()
	if err != nil {
		return nil, err
	}
	switch b {
	case '{', '[':
		if err := c.p.enter(c.p.lines[c.li]); err != nil {
			return nil, err
		}
		defer func() { c.p.depth-- }()
		c.j++
		if b == '{' {
			return c.mapping()
		}
		return c.seq()
	case '"', '\'':
		s, li, j, err := c.p.quoted(c.li, c.j, c.min)
		c.li, c.j = li, j
		return s, err
	}
	t := c.p.lines[c.li].text[c.j:]
	if msg := badStart(t); msg != "" {
		return nil, c.err(msg)
	}
	e := 0
	for ; e < len(t); e++ {
		if strings.IndexByte(",[]{}", t[e]) >= 0 || t[e] == ':' && (e+1 == len(t) || strings.IndexByte(" \t,[]{}", t[e+1]) >= 0) ||
			t[e] == '#' && e > 0 && blank(t[e-1]) {
			break
		}
	}
	s := strings.TrimRight(t[:e], " \t")
	if s == "" {
		return nil, c.err("an empty value in a flow collection")
	}
	c.j += e
	if key {
		return s, nil
	}
	return resolve(s), nil
}

func (c *fcursor) mapping() (any, error) {
	out := map[string]any{}
	for {
		b, err := c.peek()
		if err != nil {
			return nil, err
		}
		if b == '}' {
			c.j++
			return out, nil
		}
		kl, kj := c.li, c.j
		k, err := c.value(true)
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok || kl != c.li {
			c.li, c.j = kl, kj
			return nil, c.err("a key that is not a string on one line")
		}
		if _, dup := out[ks]; dup {
			c.li, c.j = kl, kj
			return nil, c.err("a key given twice in one mapping")
		}
		if b, err = c.peek(); err != nil {
			return nil, err
		}
		if b != ':' {
			return nil, c.err("a key without ':' in a flow mapping")
		}
		c.j++
		var v any
		if b, err = c.peek(); err != nil {
			return nil, err
		}
		if b != ',' && b != '}' {
			if v, err = c.value(false); err != nil {
				return nil, err
			}
		}
		out[ks] = v
		if b, err = c.peek(); err != nil {
			return nil, err
		}
		switch b {
		case ',':
			c.j++
		case '}':
		default:
			return nil, c.err("expected ',' or '}' in a flow mapping")
		}
	}
}

func (c *fcursor) seq() (any, error) {
	out := []any{}
	for {
		b, err := c.peek()
		if err != nil {
			return nil, err
		}
		if b == ']' {
			c.j++
			return out, nil
		}
		v, err := c.value(false)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		if b, err = c.peek(); err != nil {
			return nil, err
		}
		switch b {
		case ',':
			c.j++
		case ']':
		default:
			return nil, c.err("expected ',' or ']' in a flow sequence (a KEY: VALUE pair there is not read)")
		}
	}
}
