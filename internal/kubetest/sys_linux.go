package kubetest

import "syscall"

// sysProcAttr kills the API server when the test process dies, even by a
// timeout's SIGQUIT or a kill: no kube-apiserver outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
