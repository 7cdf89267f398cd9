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
