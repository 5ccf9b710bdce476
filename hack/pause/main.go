// Command pause is the sandbox ("pause") container of the test node: it holds the Pod's
// namespaces, reaps orphaned children (it is PID 1 of the Pod when the PID namespace is
// shared) and exits on SIGINT or SIGTERM. Built locally because no image can be pulled.
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
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
