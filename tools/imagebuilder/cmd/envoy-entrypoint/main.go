// Command envoy-entrypoint is the entrypoint of the offline Envoy image. It
// does what the official image's /docker-entrypoint.sh does, without a
// shell (the image has none), so that one container spec works with the
// official image and with ours:
//
//   - arguments that start with "-" are Envoy's: "envoy" is put before them;
//   - $loglevel, when set, adds --log-level to an envoy command line;
//   - started as root with ENVOY_UID not "0", the command runs as the envoy
//     user (uid 101, or ENVOY_UID; group ENVOY_GID, else the user's own),
//     as su-exec does in the official image, after giving that user
//     /dev/stdout and /dev/stderr;
//   - otherwise the command runs as is, found on PATH.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// envoyUID is the uid of the envoy user in the official image.
const envoyUID = 101

func main() {
	args, uid, gid, err := Plan(os.Args[1:], os.Getenv, os.Getuid())
	if err != nil {
		fail(err)
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		fail(err)
	}
	if uid >= 0 {
		// As the official entrypoint does, so that Envoy may still open
		// /dev/stdout by path (access logs) once it is no longer root.
		// Best effort: a terminal or a file may refuse.
		_ = os.Chown("/dev/stdout", uid, gid)
		_ = os.Chown("/dev/stderr", uid, gid)
		if err := syscall.Setgroups(nil); err != nil {
			fail(fmt.Errorf("setgroups: %w", err))
		}
		if err := syscall.Setgid(gid); err != nil {
			fail(fmt.Errorf("setgid %d: %w", gid, err))
		}
		if err := syscall.Setuid(uid); err != nil {
			fail(fmt.Errorf("setuid %d: %w", uid, err))
		}
	}
	fail(syscall.Exec(path, args, os.Environ()))
}

// Plan returns the command to run and the uid and gid to switch to first
// (-1 when the command keeps the current user).
func Plan(args []string, getenv func(string) string, currentUID int) (cmd []string, uid, gid int, err error) {
	loglevel := getenv("loglevel")
	cmd = append([]string(nil), args...)
	if len(cmd) == 0 || strings.HasPrefix(cmd[0], "-") {
		cmd = append([]string{"envoy"}, cmd...)
	}
	if cmd[0] == "envoy" && loglevel != "" {
		cmd = append(cmd, "--log-level", loglevel)
	}
	uid, gid = -1, -1
	if currentUID == 0 && getenv("ENVOY_UID") != "0" {
		uid = envoyUID
		if s := getenv("ENVOY_UID"); s != "" {
			if uid, err = strconv.Atoi(s); err != nil {
				return nil, 0, 0, fmt.Errorf("ENVOY_UID=%q: %w", s, err)
			}
		}
		gid = uid
		if s := getenv("ENVOY_GID"); s != "" {
			if gid, err = strconv.Atoi(s); err != nil {
				return nil, 0, 0, fmt.Errorf("ENVOY_GID=%q: %w", s, err)
			}
		}
	}
	return cmd, uid, gid, nil
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "envoy-entrypoint: %v\n", err)
	os.Exit(1)
}
