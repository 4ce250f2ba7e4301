package testcluster

import "syscall"

// sysProcAttr makes the kernel kill a control-plane process when the test
// binary that started it dies, however it dies (a panic, go test's -timeout,
// SIGKILL), so no etcd or kube-apiserver outlives its test.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
