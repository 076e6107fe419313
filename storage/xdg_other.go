//go:build !linux

package storage

import "github.com/adrg/xdg"

// Beyond Linux (xdg_linux.go), adrg/xdg knows each platform's conventions
// (macOS: ~/Library/Application Support) and the XDG variables that override
// them.

func configHome() string { return xdg.ConfigHome }
func stateHome() string  { return xdg.StateHome }
