//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/envoy-example/envoy-example/internal/fortio"
	"github.com/envoy-example/envoy-example/internal/kube"
	"github.com/envoy-example/envoy-example/internal/repo"
)

// The load every disruption step runs under: a fortio pod in the release's
// namespace sends GET / to the ingress Service (through kube-proxy, as any
// client in the cluster would), not to a port-forward.
const (
	// loadQPS is what fortio is asked for; each step requires at least
	// minQPS reached over the whole run (start and stop cost a little).
	loadQPS     = 60
	minQPS      = 50
	loadConns   = 8
	loadTimeout = 10 * time.Second
	// settleAfter: the load goes on this long after a disruption is over,
	// so that a late failure (a caller still sending to a pod that is gone)
	// is counted.
	settleAfter = 10 * time.Second
	// maxLoad bounds every run: fortio stops by itself after this, whatever
	// happens to the test.
	maxLoad = 10 * time.Minute
)

// loader starts fortio runs from one fortio pod.
type loader struct {
	k         *kube.Client
	namespace string
	pod       string
	target    string
	// full is the full report (its body, the text item's answer adds):
	// a 200 answer whose body is shorter is a failed request too (judge).
	full *fullReport
	// bodyBytes is the body of a full answer as fortio counts it (size
	// less headers: the body, and the chunk framing if the ingress
	// chunks), measured by calibrate.
	bodyBytes int
}

// fortioImage is the image `make component-images` builds from versions.mk.
func fortioImage(t *testing.T) string {
	t.Helper()
	v, err := repo.Pin("FORTIO_VERSION")
	if err != nil {
		t.Fatal(err)
	}
	return "fortio/fortio:" + strings.TrimPrefix(v, "v")
}

// newLoader starts the fortio pod; t fails, top (which outlives the step)
// deletes the pod when it ends.
func newLoader(t, top *testing.T, ctx context.Context, k *kube.Client, namespace, target string, full *fullReport) *loader {
	t.Helper()
	image := fortioImage(t)
	pod, err := k.StartFortio(ctx, namespace, image, corev1.PullIfNotPresent)
	if err != nil {
		t.Fatalf("fortio pod (%s): %v", image, err)
	}
	top.Cleanup(func() {
		_ = k.Clientset.CoreV1().Pods(namespace).Delete(context.Background(), pod.Name, deleteNow)
	})
	l := &loader{k: k, namespace: namespace, pod: pod.Name, target: target, full: full}
	if err := l.calibrate(ctx); err != nil {
		t.Fatal(err)
	}
	return l
}

// calibrate measures, with fortio itself, the body of a full answer as
// fortio counts it: three requests, all 200, the smallest size less the
// smallest header size. It cannot be less than the full report's body
// (checked by report.Check, fetched just before): framing only adds.
func (l *loader) calibrate(ctx context.Context) error {
	q := url.Values{"url": {l.target}, "n": {"3"}, "c": {"1"}, "qps": {"-1"}, "timeout": {loadTimeout.String()}}
	raw, err := l.k.PodGet(ctx, l.namespace, l.pod, kube.FortioPort, "fortio/rest/run", q)
	if err != nil {
		return fmt.Errorf("fortio calibration run: %w", err)
	}
	res, err := fortio.Parse(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("fortio calibration run: %w", err)
	}
	var sizes struct{ HeaderSizes fortio.Histogram }
	if err := json.Unmarshal(raw, &sizes); err != nil || sizes.HeaderSizes.Count != res.Sizes.Count || res.RetCodes["200"] != res.Sizes.Count {
		return fmt.Errorf("fortio calibration run: answers %v, %d sizes, %d header sizes (%v)", res.RetCodes, res.Sizes.Count, sizes.HeaderSizes.Count, err)
	}
	l.bodyBytes = int(res.Sizes.Min - sizes.HeaderSizes.Min)
	if l.bodyBytes < len(l.full.body) {
		return fmt.Errorf("fortio calibration run: a 200 with a body of %d bytes, shorter than the full report (%d)", l.bodyBytes, len(l.full.body))
	}
	return nil
}

// loadRun is one fortio run in progress.
type loadRun struct {
	l        *loader
	id       int64
	resultID string
}

// start starts a run in the background (fortio's REST API, async); it ends
// when stopped, or after maxLoad.
func (l *loader) start(ctx context.Context) (*loadRun, error) {
	q := url.Values{}
	q.Set("url", l.target)
	q.Set("qps", strconv.Itoa(loadQPS))
	q.Set("c", strconv.Itoa(loadConns))
	q.Set("t", maxLoad.String())
	q.Set("timeout", loadTimeout.String())
	q.Set("async", "on")
	q.Set("save", "on")
	q.Set("r", "0.0001")
	q.Set("p", "50,99,99.9")
	raw, err := l.k.PodGet(ctx, l.namespace, l.pod, kube.FortioPort, "fortio/rest/run", q)
	if err != nil {
		return nil, fmt.Errorf("fortio run: %w", err)
	}
	var reply struct {
		Message  string
		RunID    int64
		ResultID string
	}
	if err := json.Unmarshal(raw, &reply); err != nil || reply.RunID == 0 || reply.ResultID == "" {
		return nil, fmt.Errorf("fortio run: unexpected answer %s (%v)", raw, err)
	}
	return &loadRun{l: l, id: reply.RunID, resultID: reply.ResultID}, nil
}

// result is fortio's result of a run, and the histogram of the answers'
// header sizes (fortio's HeaderSizes, which fortio.Result does not read).
type result struct {
	*fortio.Result
	headerSizes fortio.Histogram
}

// stop ends the run and returns fortio's result.
func (r *loadRun) stop(ctx context.Context) (*result, error) {
	l := r.l
	q := url.Values{"runid": {strconv.FormatInt(r.id, 10)}, "wait": {"true"}}
	if _, err := l.k.PodGet(ctx, l.namespace, l.pod, kube.FortioPort, "fortio/rest/stop", q); err != nil {
		return nil, fmt.Errorf("fortio stop: %w", err)
	}
	// The result is saved as the run ends: poll for it briefly.
	var lastErr error
	for i := 0; i < 30; i++ {
		raw, err := l.k.PodGet(ctx, l.namespace, l.pod, kube.FortioPort, "fortio/data/"+r.resultID+".json", nil)
		if err == nil {
			res, err := fortio.Parse(bytes.NewReader(raw))
			if err != nil {
				return nil, err
			}
			var sizes struct{ HeaderSizes fortio.Histogram }
			if err := json.Unmarshal(raw, &sizes); err != nil {
				return nil, fmt.Errorf("fortio result %s: %w", r.resultID, err)
			}
			return &result{Result: res, headerSizes: sizes.HeaderSizes}, nil
		}
		lastErr = err
		time.Sleep(time.Second)
	}
	return nil, fmt.Errorf("fortio result %s: %w", r.resultID, lastErr)
}

// verdict says what a run sent and what failed: any answer other than a
// 200 with a full report body, or a connection error, is a failure.
type verdict struct {
	sent, failed int64
	qps          float64
	conns        int
	codes        string
	took         time.Duration
	// p99 is the 99th percentile of the answers' latency, in seconds.
	p99 float64
}

// judge counts what failed: any code but 200, and, when every answer was
// a 200, any answer whose body was shorter than a full report.
//
// fortio does not keep bodies; it records each answer's size (Sizes:
// status line, headers and body, as read from the connection) and its
// header size (HeaderSizes: status line and headers) in two histograms,
// and keeps only their min and max. For every answer i, body_i = size_i
// - header_i >= Sizes.Min - HeaderSizes.Max, so that is a lower bound of
// the smallest body; and the smallest body is at most that bound plus the
// headers' spread (HeaderSizes.Max - HeaderSizes.Min). Every full report
// has exactly the same body (the seed data; step 18 compares them byte
// for byte), while the headers differ: the digits of
// x-envoy-upstream-service-time (a recorded steady run: sizes 912-913,
// headers 243-244, body 669), and during a rolling upgrade headers such
// as a draining Envoy's "connection: close"
// (a run of step 9: headers 243-263). The full body, as
// fortio counts it, is measured once by fortio itself (calibrate). The
// run fails when Sizes.Min - HeaderSizes.Min < that full body (then the
// smallest answer's body is shorter, for sure): that catches any body
// shorter than a full one by more than the spread (a few bytes when
// steady, some twenty when Envoys drain), and the spread must stay below
// the text that item's answer adds (report.ItemText: order resolves every
// item in one batch call), so that a report without item's answer, or
// without a user's orders, cannot pass. A body short by less than the
// spread would pass: report.Check, on the reports the steps fetch
// themselves, reads every byte. (Comparing Sizes.Min,
// headers included, with the body alone, as before, let through a body
// missing up to the size of the headers, every item name among them.)
func (l *loader) judge(res *result) verdict {
	v := verdict{sent: res.DurationHistogram.Count, qps: res.ActualQPS, conns: res.NumThreads,
		took: time.Duration(res.ActualDuration)}
	v.p99, _ = res.Percentile(99) // asked for in start
	var codes []string
	for code, n := range res.RetCodes {
		codes = append(codes, fmt.Sprintf("%s: %d", code, n))
		if code != "200" {
			v.failed += n
		}
	}
	sort.Strings(codes)
	v.codes = strings.Join(codes, ", ")
	// Sizes mixes every answer, so with other codes it cannot tell.
	if v.failed == 0 && res.Sizes.Count > 0 {
		if why := shortBody(res.Sizes, res.headerSizes, l.bodyBytes, l.full.itemText); why != "" {
			v.failed++ // at least one, and fortio does not say how many
			v.codes += "; " + why
		}
	}
	return v
}

// shortBody says why the answers' sizes do not show a full report in
// every body, or "" when they do (judge explains the bounds).
func shortBody(sizes, headers fortio.Histogram, want, itemText int) string {
	if headers.Count != sizes.Count {
		return fmt.Sprintf("fortio recorded %d header sizes for %d answers: cannot tell the bodies' sizes", headers.Count, sizes.Count)
	}
	spread := int(headers.Max - headers.Min)
	if spread >= itemText {
		return fmt.Sprintf("the answers' headers vary by %d bytes (%d-%d), not less than the text item's answer adds (%d): cannot tell a full report from one without item's answer",
			spread, int(headers.Min), int(headers.Max), itemText)
	}
	if smallest := int(sizes.Min - headers.Min); smallest < want {
		return fmt.Sprintf("a 200 answer of %d bytes with %d-%d bytes of headers: a body of at most %d bytes, shorter than a full report (%d)",
			int(sizes.Min), int(headers.Min), int(headers.Max), smallest, want)
	}
	return ""
}

// underLoad runs disrupt while fortio sends GET / at loadQPS over
// loadConns connections, keeps the load settleAfter longer, and fails the
// step unless every request got a full report, at minQPS or more. It
// prints "<what>: sent N, failed F at R requests/s over C connections".
// disrupt must return only once the disruption is over (checked from the
// API), so that the whole disruption happens under load.
func underLoad(t *testing.T, ctx context.Context, l *loader, what string, disrupt func(t *testing.T)) {
	t.Helper()
	v := measure(t, ctx, l, what, disrupt)
	if v.failed > 0 {
		t.Fatalf("%s: %d of %d requests failed", what, v.failed, v.sent)
	}
	if v.qps < minQPS || v.conns < loadConns {
		t.Fatalf("%s: the load was %.1f requests/s over %d connections, want at least %d over %d", what, v.qps, v.conns, minQPS, loadConns)
	}
}

// measure is underLoad without a verdict: it runs disrupt under load and
// returns what the load saw, for the steps whose point is that requests
// do fail (the fault tour with retries off) or slow down.
func measure(t *testing.T, ctx context.Context, l *loader, what string, disrupt func(t *testing.T)) verdict {
	t.Helper()
	r, err := l.start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped { // a failed disruption: end the run anyway
			_, _ = r.stop(context.Background())
		}
	}()
	time.Sleep(3 * time.Second) // every connection open and busy
	start := time.Now()
	disrupt(t)
	disrupted := time.Since(start)
	time.Sleep(settleAfter)
	res, err := r.stop(ctx)
	stopped = true
	if err != nil {
		t.Fatal(err)
	}
	v := l.judge(res)
	line := fmt.Sprintf("%s: sent %d, failed %d at %.1f requests/s over %d connections (disruption %s, load %s; answers %s; p99 %.3fs)",
		what, v.sent, v.failed, v.qps, v.conns, disrupted.Round(time.Second), v.took.Round(time.Second), v.codes, v.p99)
	fmt.Println("e2e: " + line)
	t.Log(line)
	if v.took < disrupted+settleAfter {
		t.Fatalf("%s: the load ran %s, less than the disruption and %s after it", what, v.took, settleAfter)
	}
	return v
}
