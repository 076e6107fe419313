//go:build unix

package storage

// aclWarning and dirACLWarning are not needed where mode bits say who may
// read a file or write a directory.
func aclWarning(string) string    { return "" }
func dirACLWarning(string) string { return "" }
