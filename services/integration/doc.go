// Package integration holds the tests of the four services together: wired
// directly over loopback TCP in this process (testmesh), and as the real
// commands in their own processes, configured by flags and environment as
// the chart configures them.
//
// Its subpackages are the test helpers the services' tests share, kept
// out of the production packages: testmesh (the four services wired in one
// process), phpfpmtest (a real PHP-FPM serving the PHP item) and logtest
// (a logger whose lines a test can read).
package integration
