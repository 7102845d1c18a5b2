// The process of keelson's pod sandbox image: it holds the pod's namespaces open and, as PID 1 of
// a pod that shares its process namespace, reaps orphaned children. It sleeps until SIGINT or
// SIGTERM and then exits 0. Built static (CGO_ENABLED=0) by build-binaries.sh.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		for {
			var status syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
