package envoyproc

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// adminClient bounds every call to an Envoy admin.
var adminClient = &http.Client{Timeout: 10 * time.Second}

// Stat reads one counter or gauge, by its full name (e.g.
// "cluster.item.upstream_rq_retry"), from the Envoy admin at admin
// (host:port).
func Stat(admin, name string) (int64, error) {
	resp, err := adminClient.Get("http://" + admin + "/stats?filter=^" + url.QueryEscape(strings.ReplaceAll(name, ".", `\.`)) + "$")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	_, v, ok := strings.Cut(strings.TrimSpace(string(body)), ": ")
	n, err := strconv.ParseInt(v, 10, 64)
	if resp.StatusCode != http.StatusOK || !ok || err != nil {
		return 0, fmt.Errorf("stat %s: %d %q", name, resp.StatusCode, body)
	}
	return n, nil
}

// RuntimeModify sets one runtime key in the admin runtime layer of the
// Envoy admin at admin (host:port), as `curl -X POST
// 'localhost:9901/runtime_modify?key=value'` does.
func RuntimeModify(admin, key, value string) error {
	resp, err := adminClient.Post("http://"+admin+"/runtime_modify?"+url.Values{key: {value}}.Encode(), "", nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("runtime_modify %s=%s: %d %s", key, value, resp.StatusCode, body)
	}
	return nil
}

// HealthyHosts lists the hosts (address:port) of an Envoy cluster that pass
// health checks, from the admin's /clusters page at admin (host:port), whose
// lines read "user::10.244.0.7:8080::health_flags::healthy".
func HealthyHosts(admin, cluster string) ([]string, error) {
	resp, err := adminClient.Get("http://" + admin + "/clusters")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/clusters: %d %q", resp.StatusCode, body)
	}
	var hosts []string
	for _, line := range strings.Split(string(body), "\n") {
		parts := strings.Split(line, "::")
		if len(parts) == 4 && parts[0] == cluster && parts[2] == "health_flags" && parts[3] == "healthy" {
			hosts = append(hosts, parts[1])
		}
	}
	return hosts, nil
}
