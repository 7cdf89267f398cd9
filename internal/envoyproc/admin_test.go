package envoyproc

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// HealthyHosts reads the lines of /clusters that mark a host healthy in the
// cluster asked for, and only those.
func TestHealthyHosts(t *testing.T) {
	const clusters = `user::10.244.0.7:8080::health_flags::healthy
user::10.244.0.7:8080::cx_active::2
user::10.244.0.8:8080::health_flags::/failed_active_hc
user::10.244.0.9:8080::health_flags::healthy
order::10.244.0.10:8080::health_flags::healthy
`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/clusters" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(clusters))
	}))
	defer srv.Close()
	hosts, err := HealthyHosts(strings.TrimPrefix(srv.URL, "http://"), "user")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.244.0.7:8080", "10.244.0.9:8080"}; !slices.Equal(hosts, want) {
		t.Errorf("healthy hosts %v, want %v", hosts, want)
	}
}
