//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package prompt

import (
	"errors"
	"os"
)

const canNoEcho = false

func noEcho(*os.File) (func(), error) { return nil, errors.New("not supported") }
