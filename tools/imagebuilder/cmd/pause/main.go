// Command pause is the infrastructure container of a Kubernetes pod: it
// holds the pod's namespaces open, reaps the zombies it adopts when the
// pod shares one process namespace, and exits cleanly when asked to stop.
// It does what the upstream pause.c does, as a static Go program, so that
// an offline cluster can run pods without pulling registry.k8s.io/pause.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set by the image builder (-X main.version=…) to the tag the
// kubelet asks for.
var version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		fmt.Printf("pause.go %s\n", version)
		return
	}
	if len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: pause [-v]")
		os.Exit(2)
	}
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "Warning: pause should be the first process")
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		switch sig {
		case syscall.SIGINT:
			fmt.Fprintln(os.Stderr, "Shutting down, got signal: Interrupt")
			os.Exit(0)
		case syscall.SIGTERM:
			fmt.Fprintln(os.Stderr, "Shutting down, got signal: Terminated")
			os.Exit(0)
		case syscall.SIGCHLD:
			reap()
		}
	}
}

// reap collects every child that has exited; signals coalesce, so one
// SIGCHLD may stand for several.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
