package cli

import "os"

// forwarded are the signals exec catches while the child runs: Ctrl-C and
// Ctrl-Break (which Go delivers as os.Interrupt). Windows has no other signal
// to pass on, and cannot send one to a process: the console delivers Ctrl-C
// and Ctrl-Break to every process attached to it, the child included.
var forwarded = []os.Signal{os.Interrupt}

// inForegroundOfTTY is true on Windows: the console has already given the
// child every Ctrl-C and Ctrl-Break that reached tokenkeeper.
func inForegroundOfTTY() bool { return true }
