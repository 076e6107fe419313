// Package credentials reads, checks and writes credentials.json: what
// tokenkeeper needs to obtain a token from an OAuth 2.0 token endpoint
// (token URL, grant type, client id and secret, and for SAP Concur's
// password grant the company UUID and company request token).
//
// The field names are those of SAP Concur's "Refresh token management
// automation" tutorial, so the tutorial's own file,
//
//	{"appID":"","clientSecret":"","grantType":"password","companyUUID":"","companyRequestToken":"","credentialType":"authtoken"}
//
// loads unchanged (and is reported incomplete until filled in). Template is
// the file written on first run; WriteTemplate writes it only where no file
// exists — a file that cannot be parsed is never overwritten, unlike the
// tutorial, because it may hold the only copy of a secret.
//
// Load is Parse plus Validate and reports every problem of a file at once:
// a *SyntaxError (with line:column) when it is not a JSON object, else one
// *InvalidError listing each field that is missing, not a string, or not
// acceptable. errors.Is(err, ErrIncomplete) tells "fill in the template"
// apart from "fix a value"; errors.Is(err, fs.ErrNotExist) a missing file;
// errors.Is(err, ErrEmpty) an empty one.
//
// Errors start with the package's name ("credentials: "), as Go errors in a
// chain do (x/oauth2's "oauth2: "): whoever wraps one still reads whose it
// is. A *SyntaxError and an *InvalidError, which a program shows to a person
// on their own, also have Detail: the same text without that name, for a
// place that already says what it is about (a row under the file's name, a
// line while a person edits the file). Show Detail as it is; never cut
// Error's text.
//
// Decisions where the specification is silent:
//
//   - Values are trimmed of surrounding white space (secrets are often pasted
//     with a newline); a control character left inside a value is a problem.
//   - null counts as "not set"; any other non-string value is a problem.
//   - A UTF-8 byte order mark at the start of the file is ignored.
//   - A key given twice is a warning; the last value is used, as
//     encoding/json does.
//   - Unknown keys are warnings, not errors, with a did-you-mean suggestion
//     ("appId" → "appID", "client_secret" → "clientSecret"); names are
//     case-sensitive, and a required field that is missing says which
//     look-alike key the file has instead. A look-alike of tokenURL,
//     grantType or authStyle while that field is unset is a problem, not a
//     warning: the default would win silently, and for tokenURL the secrets
//     would go to an endpoint the user did not mean.
//   - An empty tokenURL, grantType or authStyle means its default, in Parse
//     and in Validate alike; Save writes the values as they are.
//   - Save forces mode 0600, even over a file that had a wider mode, keeps
//     its temporary file in the target's directory, and follows a symbolic
//     link at the path so that the link's target is updated.
//
// Secrets (clientSecret, companyRequestToken, refreshToken) never appear in
// an error, a warning or a Problem. Credentials' String and GoString methods
// and Redacted mask them, so a stray %v in a log line is harmless too.
//
// Caveat: Save is atomic only where rename(2) is (not on every network file
// system), and the package does not check the file's permissions: a
// group- or world-readable file is the storage package's warning to give.
package credentials
