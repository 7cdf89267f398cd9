package integration

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/envoy-example/envoy-example/services/integration/testmesh"
)

// BenchmarkReport measures `GET /` over the four services wired directly on
// loopback, at the original data size and ten times it. ns/op is the whole
// round trip (HTTP to frontend, two gRPC calls, order's call to item);
// allocs/op counts the allocations of all four services and the client,
// since they share this process. Logs are off so that they do not count.
//
//	go test -run '^$' -bench Report -benchmem ./services/integration/
func BenchmarkReport(b *testing.B) {
	for _, scale := range []int{1, 10} {
		b.Run(fmt.Sprintf("seed-scale=%d", scale), func(b *testing.B) {
			m := testmesh.Start(b, testmesh.Options{SeedScale: scale, LogLevel: slog.LevelError})
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
			defer client.CloseIdleConnections()
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Get(m.URL + "/")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET / = %s", resp.Status)
				}
			}
		})
	}
}
