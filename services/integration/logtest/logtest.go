// Package logtest captures a service's JSON log lines so that tests can
// assert on what a service saw (the ids a request carried, its deadline).
package logtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// Logs collects a service's JSON log lines; safe for concurrent use.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines returns the lines logged so far, decoded; a line that is not a JSON
// object fails the test.
func (l *Logs) Lines(tb testing.TB) []map[string]any {
	tb.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			tb.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// Find returns the lines with msg whose fields include every key/value of
// match (values compared as their JSON text).
func (l *Logs) Find(tb testing.TB, msg string, match map[string]string) []map[string]any {
	tb.Helper()
	var out []map[string]any
lines:
	for _, line := range l.Lines(tb) {
		if line["msg"] != msg {
			continue
		}
		for k, v := range match {
			if fmt.Sprint(line[k]) != v {
				continue lines
			}
		}
		out = append(out, line)
	}
	return out
}
