package main

import (
	"slices"
	"testing"
)

// The cases of the official docker-entrypoint.sh.
func TestPlan(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		env      map[string]string
		uid      int
		wantCmd  []string
		wantUID  int
		wantGID  int
		mustFail bool
	}{
		{name: "flags get envoy in front", args: []string{"-c", "/etc/envoy/envoy.yaml"}, uid: 1000,
			wantCmd: []string{"envoy", "-c", "/etc/envoy/envoy.yaml"}, wantUID: -1, wantGID: -1},
		{name: "a command runs as is", args: []string{"envoy", "--version"}, uid: 1000,
			wantCmd: []string{"envoy", "--version"}, wantUID: -1, wantGID: -1},
		{name: "loglevel", args: []string{"-c", "x"}, env: map[string]string{"loglevel": "debug"}, uid: 1000,
			wantCmd: []string{"envoy", "-c", "x", "--log-level", "debug"}, wantUID: -1, wantGID: -1},
		{name: "loglevel only for envoy", args: []string{"cat"}, env: map[string]string{"loglevel": "debug"}, uid: 1000,
			wantCmd: []string{"cat"}, wantUID: -1, wantGID: -1},
		{name: "root drops to the envoy user", args: []string{"-c", "x"}, uid: 0,
			wantCmd: []string{"envoy", "-c", "x"}, wantUID: 101, wantGID: 101},
		{name: "ENVOY_UID and ENVOY_GID", args: []string{"-c", "x"}, env: map[string]string{"ENVOY_UID": "2000", "ENVOY_GID": "3000"}, uid: 0,
			wantCmd: []string{"envoy", "-c", "x"}, wantUID: 2000, wantGID: 3000},
		{name: "ENVOY_UID=0 stays root", args: []string{"-c", "x"}, env: map[string]string{"ENVOY_UID": "0"}, uid: 0,
			wantCmd: []string{"envoy", "-c", "x"}, wantUID: -1, wantGID: -1},
		{name: "bad ENVOY_UID", args: []string{"-c", "x"}, env: map[string]string{"ENVOY_UID": "envoy"}, uid: 0, mustFail: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, uid, gid, err := Plan(tc.args, func(k string) string { return tc.env[k] }, tc.uid)
			if tc.mustFail {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cmd, tc.wantCmd) || uid != tc.wantUID || gid != tc.wantGID {
				t.Errorf("got %q uid %d gid %d, want %q uid %d gid %d", cmd, uid, gid, tc.wantCmd, tc.wantUID, tc.wantGID)
			}
		})
	}
}
