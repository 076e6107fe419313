// Package refresh keeps an OAuth 2.0 access token and its refresh token alive in a
// file, for any RFC 6749 token endpoint (SAP Concur, Keycloak, KORE, …). It is the
// library behind the tokenkeeper command, and the only part of it that talks to a
// token endpoint.
//
// A Manager runs the lifecycle of one profile: read the token file, hand out the
// access token while it has more than Margin left, otherwise renew it with the
// refresh token (or get a new grant from credentials.json), and save the answer
// atomically. Manager.Token is safe for concurrent use: callers in one process
// share one request, and processes share one through a lock file, so fifty callers
// on an expired token make one request. A valid token costs one read of one file.
//
// Three ways to use it in a program:
//
//   - Manager.Token or Manager.TokenSource (an oauth2.TokenSource) for code that
//     sets the header itself or takes a TokenSource;
//   - Manager.HTTPClient (or a Transport) for an *http.Client that adds
//     "Authorization: Bearer …" and, when the API answers 401, renews once and
//     sends the request again;
//   - a Watcher, for a long-running process that keeps the file fresh for others
//     (what `tokenkeeper watch` runs): it sleeps until shortly before expiry,
//     follows edits of credentials.json and tokens written by other processes,
//     and backs off on failure.
//
// Caveats. The refresh token never leaves the package: TokenSource's tokens carry
// none, so that no caller can spend a rotating refresh token behind the file's
// back. Failures are *Error values whose Kind says what to do (retry later, a
// human must re-authorise, fix credentials.json); their messages never contain a
// secret. Cross-process safety rests on flock(2) and rename(2): it holds on a local
// file system, not on NFS. Time comes from the Manager's Clock, which tests replace;
// the Watcher's waits are real timers.
package refresh
