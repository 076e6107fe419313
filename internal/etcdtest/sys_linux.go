package etcdtest

import "syscall"

// sysProcAttr kills a member when the test process dies, even by a
// timeout's SIGQUIT or a kill: no etcd outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
