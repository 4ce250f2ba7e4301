//go:build !linux

package testcluster

import "syscall"

// sysProcAttr has no portable equivalent of Linux's Pdeathsig: elsewhere the
// processes are only stopped by Cluster.Stop (which Require and Main arrange).
func sysProcAttr() *syscall.SysProcAttr { return nil }
