//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package prompt

import (
	"os"

	"golang.org/x/sys/unix"
)

// canNoEcho says that noEcho works here; elsewhere secrets are read with
// term.ReadPassword, which turns echo off only once it is already reading.
const canNoEcho = true

// noEcho turns off echo on the terminal and returns what restores it. Unlike
// term.ReadPassword it leaves the reading to the caller, so that echo can be
// off before the question is shown. ICANON and ISIG stay on: the line is
// still edited by the terminal, and Ctrl-C still interrupts.
func noEcho(tty *os.File) (func(), error) {
	fd := int(tty.Fd())
	old, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return nil, err
	}
	t := *old
	t.Lflag &^= unix.ECHO
	t.Lflag |= unix.ICANON | unix.ISIG
	t.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, ioctlSetTermios, &t); err != nil {
		return nil, err
	}
	return func() { unix.IoctlSetTermios(fd, ioctlSetTermios, old) }, nil
}
