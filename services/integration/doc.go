// Package integration holds the tests of the four services together: wired
// directly over loopback TCP in this process (testmesh), and as the real
// commands in their own processes, configured by flags and environment as
// the chart configures them.
package integration
