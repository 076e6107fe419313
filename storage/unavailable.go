package storage

import "errors"

// ErrUnavailable is matched (errors.Is) by the errors of a shared store that
// could not be reached in time. The lifecycle treats it as temporary: it
// serves a still-valid token with a warning, and otherwise asks to retry
// later, never a human.
var ErrUnavailable = errors.New("storage: store unavailable")
