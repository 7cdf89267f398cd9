// Command valuesdoc writes the values table of the chart's README
// (charts/envoy-example/README.md, what `helm show readme` prints) from the
// comments of charts/envoy-example/values.yaml, so the two cannot drift:
//
//	go run ./tools/valuesdoc          # rewrite the table (make generate)
//	go run ./tools/valuesdoc -check   # fail if it is stale (make test)
//
// Every key must carry a `# --` comment (the helm-docs convention).
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
)

func main() {
	values := flag.String("values", "charts/envoy-example/values.yaml", "the chart's values file")
	readme := flag.String("readme", "charts/envoy-example/README.md", "the file holding the generated block")
	check := flag.Bool("check", false, "only check that the README is current")
	flag.Parse()
	if err := run(*values, *readme, *check); err != nil {
		fmt.Fprintln(os.Stderr, "valuesdoc:", err)
		os.Exit(1)
	}
}

func run(valuesPath, readmePath string, check bool) error {
	values, err := os.ReadFile(valuesPath)
	if err != nil {
		return err
	}
	rs, err := rows(values)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(readmePath)
	if err != nil {
		return err
	}
	updated, err := splice(old, table(rs))
	if err != nil {
		return err
	}
	if bytes.Equal(old, updated) {
		return nil
	}
	if check {
		return fmt.Errorf("%s: the values reference is stale: run `make generate` and commit", readmePath)
	}
	return os.WriteFile(readmePath, updated, 0o644)
}
