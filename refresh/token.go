package refresh

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// epochThreshold separates the two meanings of refresh_expires_in: Concur sends an
// absolute Unix time (1.5e9 and up), Keycloak a number of seconds from now. No
// relative lifetime reaches 31 years, and no absolute one is before 2001.
const epochThreshold = 1_000_000_000

// maxLifetime caps a lifetime read from outside, so that absurd values neither
// overflow time arithmetic nor make a token look valid for centuries.
const maxLifetime = 100 * 365 * 24 * time.Hour

// maxFileTime is the last instant RFC 3339 can write.
var maxFileTime = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// maxEpoch (year 5138) caps an absolute time read from outside.
const maxEpoch = 1e11

// Keys of the normalised fields tokenkeeper adds to the stored response.
const (
	keyObtainedAt      = "obtained_at"
	keyExpiresAt       = "expires_at"
	keyRefreshExpires  = "refresh_expires_at"
	keyTokenURL        = "token_url"
	keyCompanyUUID     = "companyUUID"
	keyAuthStyle       = "auth_style"
	keySeedFingerprint = "seed_fingerprint"
)

// responseKeys are the fields a token endpoint answers with that belong to one
// grant; a bootstrap (a new grant) drops them from the old file, and keeps the rest
// (fields written by a newer tokenkeeper, for instance).
var responseKeys = map[string]bool{
	"access_token": true, "token_type": true, "expires_in": true, "refresh_token": true,
	"refresh_expires_in": true, "scope": true, "id_token": true, "geolocation": true,
	"session_state": true, "not-before-policy": true,
	keyObtainedAt: true, keyExpiresAt: true, keyRefreshExpires: true, keyTokenURL: true,
	keyAuthStyle: true, keySeedFingerprint: true,
}

// fileKeyOrder is the order fields are written in, so that the file reads like the
// SPEC's example; other fields follow in sorted order.
var fileKeyOrder = []string{
	"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in",
	"scope", "id_token", "geolocation", keyCompanyUUID, keyObtainedAt, keyExpiresAt,
	keyRefreshExpires, keyTokenURL, keyAuthStyle, keySeedFingerprint,
}

// Token is one stored grant: the token endpoint's response, field by field as it was
// received, plus the absolute times tokenkeeper derives from it.
//
// Zero times have a meaning: a zero Expiry means the access token's lifetime is
// unknown and it is treated as expired; a zero RefreshExpiry means the endpoint
// advertised none, so the refresh token is tried and an invalid_grant answer is what
// tells it is dead.
type Token struct {
	AccessToken  string
	TokenType    string
	RefreshToken string
	Scope        string
	Geolocation  string // Concur: the base URL for refresh requests and API calls
	CompanyUUID  string // Concur: added as the tutorial does

	ObtainedAt    time.Time // start of the request that produced the access token
	Expiry        time.Time // access token expiry; zero = unknown
	RefreshExpiry time.Time // refresh token expiry; zero = none advertised
	TokenURL      string    // endpoint that issued it
	AuthStyle     string    // client authentication that worked ("params" or "header"), when probed

	// SeedFingerprint identifies the credentials.json refreshToken that started this
	// grant (refresh_token grant only), so that a spent seed is never sent again.
	SeedFingerprint string

	raw map[string]json.RawMessage
}

// Valid reports whether the access token can be handed out at now and stays valid for
// at least margin. The margin is capped at half the token's lifetime, so a 30-second
// token is not renewed on every call. A nil Token is not valid.
func (t *Token) Valid(now time.Time, margin time.Duration) bool {
	if t == nil || t.AccessToken == "" || t.Expiry.IsZero() {
		return false
	}
	if !t.ObtainedAt.IsZero() {
		// max: an expiry before obtained_at (a clock set back, a hand-edited
		// file) must not turn into a negative margin.
		if half := t.Expiry.Sub(t.ObtainedAt) / 2; margin > half {
			margin = max(half, 0)
		}
	}
	return now.Add(margin).Before(t.Expiry)
}

// RefreshUsable reports whether the refresh token is worth sending at now: present
// and not known to be expired.
func (t *Token) RefreshUsable(now time.Time) bool {
	if t == nil || t.RefreshToken == "" {
		return false
	}
	return t.RefreshExpiry.IsZero() || now.Before(t.RefreshExpiry)
}

// Raw returns a field of the stored response as received.
func (t *Token) Raw(key string) (json.RawMessage, bool) {
	v, ok := t.raw[key]
	return v, ok
}

// ParseResponse reads a token endpoint's success body. start is when the request
// was sent: lifetimes count from it, so network delay errs on the safe side.
// contentType may be empty; form-encoded bodies (GitHub style) are accepted.
func ParseResponse(body []byte, contentType string, start time.Time) (*Token, error) {
	raw, err := decodeResponse(body, contentType)
	if err != nil {
		return nil, err
	}
	t := &Token{raw: raw}
	if err := t.readResponseFields(); err != nil {
		return nil, err
	}
	if t.AccessToken == "" {
		return nil, errors.New("refresh: token response has no access_token")
	}
	t.ObtainedAt = start.UTC()
	if d, ok, err := lifetime(raw, "expires_in"); err != nil {
		return nil, err
	} else if ok {
		t.Expiry = t.ObtainedAt.Add(d)
	} else if exp, ok := jwtExpiry(t.AccessToken); ok {
		t.Expiry = exp
	}
	t.RefreshExpiry, err = refreshExpiry(raw, t.ObtainedAt)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ParseFile reads a stored token file: tokenkeeper's own format, or the one the
// tutorial's Node sample writes (no normalised times: its access-token expiry is then
// unknown, so it is refreshed; its refresh_expires_in is an epoch).
func ParseFile(data []byte) (*Token, error) {
	data = bytes.TrimPrefix(data, []byte("\uFEFF")) // as credentials.json: Windows editors add a BOM
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("file is empty")
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, describeJSONError(data, err)
	}
	if raw == nil {
		return nil, errors.New("not a JSON object")
	}
	t := &Token{raw: raw}
	if err := t.readResponseFields(); err != nil {
		return nil, err
	}
	// Slices, not map literals: this is the hot path of `tokenkeeper token`,
	// and a map literal is built anew on every call.
	for _, f := range [...]struct {
		key string
		dst *string
	}{
		{keyCompanyUUID, &t.CompanyUUID}, {keyTokenURL, &t.TokenURL},
		{keyAuthStyle, &t.AuthStyle}, {keySeedFingerprint, &t.SeedFingerprint},
	} {
		if err := stringField(raw, f.key, f.dst); err != nil {
			return nil, err
		}
	}
	for _, f := range [...]struct {
		key string
		dst *time.Time
	}{
		{keyObtainedAt, &t.ObtainedAt}, {keyExpiresAt, &t.Expiry}, {keyRefreshExpires, &t.RefreshExpiry},
	} {
		if err := timeField(raw, f.key, f.dst); err != nil {
			return nil, err
		}
	}
	if _, ok := raw[keyRefreshExpires]; !ok {
		// A file without normalised times (the tutorial's): only an absolute
		// refresh_expires_in can be placed in time without knowing when it was issued.
		var err error
		if t.RefreshExpiry, err = refreshExpiry(raw, t.ObtainedAt); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// readResponseFields fills the string fields every response and file share.
func (t *Token) readResponseFields() error {
	for _, f := range [...]struct {
		key string
		dst *string
	}{
		{"access_token", &t.AccessToken}, {"token_type", &t.TokenType},
		{"refresh_token", &t.RefreshToken}, {"scope", &t.Scope}, {"geolocation", &t.Geolocation},
	} {
		if err := stringField(t.raw, f.key, f.dst); err != nil {
			return err
		}
	}
	return nil
}

// MarshalFile renders the token file: every field as received, then the normalised
// ones, indented, keys in a fixed order.
func (t *Token) MarshalFile() ([]byte, error) {
	out := make(map[string]json.RawMessage, len(t.raw)+8)
	for k, v := range t.raw {
		out[k] = v
	}
	setString := func(key, v string) {
		if v == "" {
			delete(out, key)
			return
		}
		out[key], _ = json.Marshal(v)
	}
	// Expiries are written in whole seconds, rounded down (the safe side);
	// obtained_at to the millisecond, to tell which of two renewals came first.
	setTime := func(key, layout string, v time.Time) {
		if v.IsZero() {
			delete(out, key)
			return
		}
		if v.After(maxFileTime) { // RFC 3339 has four-digit years
			v = maxFileTime
		}
		setString(key, v.UTC().Format(layout))
	}
	// Fields set in code (a geolocation learnt from Concur's code 16) are
	// written; empty ones leave what the server sent, e.g. "scope": "".
	for key, v := range map[string]string{"token_type": t.TokenType, "scope": t.Scope, "geolocation": t.Geolocation} {
		if v != "" {
			setString(key, v)
		}
	}
	setString("access_token", t.AccessToken)
	setString("refresh_token", t.RefreshToken)
	setString(keyCompanyUUID, t.CompanyUUID)
	setString(keyTokenURL, t.TokenURL)
	setString(keyAuthStyle, t.AuthStyle)
	setString(keySeedFingerprint, t.SeedFingerprint)
	setTime(keyObtainedAt, "2006-01-02T15:04:05.000Z07:00", t.ObtainedAt)
	setTime(keyExpiresAt, time.RFC3339, t.Expiry)
	setTime(keyRefreshExpires, time.RFC3339, t.RefreshExpiry)
	return marshalOrdered(out)
}

func marshalOrdered(m map[string]json.RawMessage) ([]byte, error) {
	keys := make([]string, 0, len(m))
	seen := make(map[string]bool, len(fileKeyOrder))
	for _, k := range fileKeyOrder {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
			seen[k] = true
		}
	}
	rest := make([]string, 0, len(m))
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	keys = append(keys, rest...)

	var b bytes.Buffer
	b.WriteString("{\n")
	for i, k := range keys {
		name, _ := json.Marshal(k)
		var val bytes.Buffer
		if err := json.Indent(&val, m[k], "  ", "  "); err != nil {
			return nil, fmt.Errorf("refresh: field %s: %w", name, err)
		}
		fmt.Fprintf(&b, "  %s: %s", name, val.Bytes())
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

// merge makes the token a refresh produced from old: a response without a
// refresh_token keeps the old one and its expiry (RFC 6749 §6); fields the response
// did not repeat are kept, except the old access token's lifetime.
func (t *Token) merge(old *Token) {
	if old == nil {
		return
	}
	keep := func(key string) {
		if _, ok := t.raw[key]; !ok {
			if v, ok := old.raw[key]; ok {
				t.raw[key] = v
			}
		}
	}
	for k := range old.raw {
		switch k {
		case "expires_in", keyExpiresAt, keyObtainedAt:
			continue
		case "refresh_expires_in", keyRefreshExpires:
			if t.RefreshToken != "" {
				continue
			}
		}
		keep(k)
	}
	if t.RefreshToken == "" {
		t.RefreshToken = old.RefreshToken
		t.RefreshExpiry = old.RefreshExpiry
	}
	if t.Scope == "" {
		t.Scope = old.Scope
	}
	if t.TokenType == "" {
		t.TokenType = old.TokenType
	}
	if t.Geolocation == "" {
		t.Geolocation = old.Geolocation
	}
	t.CompanyUUID = firstNonEmpty(t.CompanyUUID, old.CompanyUUID)
	t.AuthStyle = firstNonEmpty(t.AuthStyle, old.AuthStyle)
	t.SeedFingerprint = firstNonEmpty(t.SeedFingerprint, old.SeedFingerprint)
}

// carryUnknown keeps, across a bootstrap, the fields of old that no token endpoint
// sent: those a newer tokenkeeper may have written.
func (t *Token) carryUnknown(old *Token) {
	if old == nil {
		return
	}
	for k, v := range old.raw {
		if _, ok := t.raw[k]; !ok && !responseKeys[k] && k != keyCompanyUUID {
			t.raw[k] = v
		}
	}
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func decodeResponse(body []byte, contentType string) (map[string]json.RawMessage, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	trimmed := bytes.TrimSpace(body)
	if mt == "application/x-www-form-urlencoded" || (len(trimmed) > 0 && trimmed[0] != '{' && bytes.Contains(trimmed, []byte("access_token="))) {
		return decodeForm(trimmed)
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(trimmed, &raw); err != nil || raw == nil {
		return nil, fmt.Errorf("refresh: token response is not a JSON object (content type %q)", contentType)
	}
	return raw, nil
}

func decodeForm(body []byte) (map[string]json.RawMessage, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("refresh: form-encoded token response: %w", err)
	}
	raw := make(map[string]json.RawMessage, len(vals))
	for k, v := range vals {
		raw[k], _ = json.Marshal(v[0])
	}
	return raw, nil
}

func stringField(raw map[string]json.RawMessage, key string, dst *string) error {
	v, ok := raw[key]
	if !ok || isNull(v) {
		return nil
	}
	// Most values are plain strings: no escapes, valid UTF-8. v is already
	// known to be valid JSON (it came out of a decoded object), so such a
	// string is its bytes between the quotes; that saves a decoder per field.
	if n := len(v); n >= 2 && v[0] == '"' && v[n-1] == '"' && bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		*dst = string(v[1 : n-1])
		return nil
	}
	if err := json.Unmarshal(v, dst); err != nil {
		return fmt.Errorf("field %q: want a string, got %s", key, jsonKind(v))
	}
	return nil
}

func timeField(raw map[string]json.RawMessage, key string, dst *time.Time) error {
	var s string
	if err := stringField(raw, key, &s); err != nil || s == "" {
		return err
	}
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("field %q: want an RFC 3339 time, got %q", key, truncate(s, 40))
	}
	*dst = ts.UTC()
	return nil
}

// number reads a JSON number or a numeric string (Concur documents expires_in as a
// string; samples show numbers; some servers send floats).
func number(raw map[string]json.RawMessage, key string) (float64, bool, error) {
	v, ok := raw[key]
	if !ok || isNull(v) {
		return 0, false, nil
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return 0, false, fmt.Errorf("field %q: want a number, got %s", key, jsonKind(v))
		}
		s = strings.TrimSpace(s)
		if s == "" {
			return 0, false, nil
		}
		if f, err = strconv.ParseFloat(s, 64); err != nil {
			return 0, false, fmt.Errorf("field %q: want a number, got %q", key, truncate(s, 40))
		}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, fmt.Errorf("field %q: not a finite number", key)
	}
	return f, true, nil
}

// lifetime reads a relative lifetime in seconds; negative values mean "already expired".
func lifetime(raw map[string]json.RawMessage, key string) (time.Duration, bool, error) {
	f, ok, err := number(raw, key)
	if err != nil || !ok {
		return 0, ok, err
	}
	return clampSeconds(f), true, nil
}

func clampSeconds(f float64) time.Duration {
	if f <= 0 {
		return 0
	}
	if f >= maxLifetime.Seconds() {
		return maxLifetime
	}
	return time.Duration(f * float64(time.Second))
}

// refreshExpiry applies SPEC §1: ≥ 1e9 is an epoch, a smaller positive value is
// seconds from the request start, 0 or absent is "none advertised". A relative value
// with no known start (a file without obtained_at) cannot be placed and is ignored.
func refreshExpiry(raw map[string]json.RawMessage, start time.Time) (time.Time, error) {
	f, ok, err := number(raw, "refresh_expires_in")
	if err != nil || !ok || f <= 0 {
		return time.Time{}, err
	}
	if f >= epochThreshold {
		f = math.Min(f, maxEpoch)
		return time.Unix(int64(f), 0).UTC(), nil
	}
	if start.IsZero() {
		return time.Time{}, nil
	}
	return start.Add(clampSeconds(f)), nil
}

// jwtExpiry reads the exp claim of an access token that is a JWT, without verifying
// it — as the KORE seed does; it only decides when to renew, never whom to trust.
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	f, err := claims.Exp.Float64()
	if err != nil || f <= 0 || f > maxEpoch {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0).UTC(), true
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// describeJSONError turns a JSON error into one that names line:column.
func describeJSONError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fmt.Errorf("%d:%d: %v", line, col, se)
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		return fmt.Errorf("%d:%d: not a JSON object", line, col)
	}
	return err
}

func lineCol(data []byte, off int64) (int, int) {
	// encoding/json's offsets point just past the offending byte.
	pos := int(min(max(off-1, 0), int64(len(data))))
	before := data[:pos]
	line := 1 + bytes.Count(before, []byte("\n"))
	start := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[start:]) + 1
}
