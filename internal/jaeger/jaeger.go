// Package jaeger reads Jaeger's query API, /api/traces: the traces that
// match a search, each with its spans, the service that reported each span
// (for the chart, the reporting Envoy's node.cluster) and the span's tags.
//
// It is the one reader of that API for the chart's smoke checker
// (services/smoke) and the e2e (e2e/), so the two cannot read it
// differently.
package jaeger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/envoy-example/envoy-example/internal/httpget"
)

// Search is what /api/traces is asked for.
type Search struct {
	// Service is the service the traces must have a span of (required by
	// Jaeger).
	Service string
	// Tags must all be on one span of each trace.
	Tags map[string]string
	// Limit is the most traces answered; 0 leaves Jaeger's default.
	Limit int
	// Lookback is how far back to look ("1h"); empty leaves Jaeger's
	// default.
	Lookback string
}

// ByRequestID is the search for the traces Envoy tagged with an
// x-request-id (the tag guid:x-request-id), the ingress being their root.
func ByRequestID(requestID string, limit int) Search {
	return Search{Service: "ingress", Tags: map[string]string{"guid:x-request-id": requestID}, Limit: limit, Lookback: "1h"}
}

// Query is the query string of the search.
func (s Search) Query() url.Values {
	q := url.Values{"service": {s.Service}}
	if len(s.Tags) > 0 {
		tags, _ := json.Marshal(s.Tags) // a map of strings always marshals
		q.Set("tags", string(tags))
	}
	if s.Limit > 0 {
		q.Set("limit", strconv.Itoa(s.Limit))
	}
	if s.Lookback != "" {
		q.Set("lookback", s.Lookback)
	}
	return q
}

// Trace is one trace of the answer.
type Trace struct {
	ID    string
	Spans []Span
	// Processes are the service names of the trace's processes, by
	// process id.
	Processes map[string]string
}

// Span is one span: the service that reported it and its tags, every
// value written as a string ("server", "14", "true").
type Span struct {
	ID        string
	Operation string
	Service   string
	Tags      map[string]string
}

// Services are the service names of the trace's processes, sorted, each
// once.
func (t Trace) Services() []string {
	seen := map[string]bool{}
	for _, s := range t.Processes {
		seen[s] = true
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// Traces asks the Jaeger query API at base (a URL, or host:port for
// http) for the traces of a search. No trace found is no error: the
// answer is empty (traces are batched: the caller retries).
func Traces(ctx context.Context, client *http.Client, base string, s Search) ([]Trace, error) {
	resp, body, err := httpget.Get(ctx, client, base, "/api/traces?"+s.Query().Encode())
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		// Jaeger answers errors as {"data":null,"errors":[{"msg":...}]}.
		if _, perr := Parse(body); perr != nil && strings.HasPrefix(perr.Error(), "jaeger: ") {
			return nil, fmt.Errorf("GET %s: %s: %w", resp.Request.URL.Redacted(), resp.Status, perr)
		}
		return nil, fmt.Errorf("GET %s: %s: %.200s", resp.Request.URL.Redacted(), resp.Status, strings.TrimSpace(string(body)))
	}
	return Parse(body)
}

// answer is the part of /api/traces' JSON that Parse reads.
type answer struct {
	Data []struct {
		TraceID string `json:"traceID"`
		Spans   []struct {
			SpanID        string `json:"spanID"`
			OperationName string `json:"operationName"`
			ProcessID     string `json:"processID"`
			Tags          []struct {
				Key   string `json:"key"`
				Value any    `json:"value"`
			} `json:"tags"`
		} `json:"spans"`
		Processes map[string]struct {
			ServiceName string `json:"serviceName"`
		} `json:"processes"`
	} `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

// Parse reads an answer of /api/traces. An answer that carries errors is
// an error ("jaeger: <first message>").
func Parse(body []byte) ([]Trace, error) {
	var a answer
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // a numeric tag reads as written, not as 1.4e+01
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("the answer of Jaeger: %w: %.200s", err, body)
	}
	if len(a.Errors) > 0 {
		return nil, fmt.Errorf("jaeger: %s", a.Errors[0].Msg)
	}
	out := make([]Trace, 0, len(a.Data))
	for _, d := range a.Data {
		tr := Trace{ID: d.TraceID, Processes: map[string]string{}}
		for id, p := range d.Processes {
			tr.Processes[id] = p.ServiceName
		}
		for _, s := range d.Spans {
			sp := Span{ID: s.SpanID, Operation: s.OperationName, Service: tr.Processes[s.ProcessID], Tags: map[string]string{}}
			for _, tag := range s.Tags {
				sp.Tags[tag.Key] = fmt.Sprint(tag.Value)
			}
			tr.Spans = append(tr.Spans, sp)
		}
		out = append(out, tr)
	}
	return out, nil
}

// ErrNoTrace is Covering's error when the answer holds no trace at all.
var ErrNoTrace = errors.New("no trace with this x-request-id yet")

// Covering returns the first trace with spans from every service in want:
// one trace (one trace ID) through every hop, not several traces that
// cover them together. The error says, for each trace, what it lacks.
func Covering(traces []Trace, want []string) (Trace, error) {
	if len(traces) == 0 {
		return Trace{}, ErrNoTrace
	}
	var seen []string
	for _, tr := range traces {
		have := map[string]bool{}
		for _, s := range tr.Processes {
			have[s] = true
		}
		var missing []string
		for _, w := range want {
			if !have[w] {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return tr, nil
		}
		seen = append(seen, fmt.Sprintf("trace %s has spans from %v, none from %v", tr.ID, tr.Services(), missing))
	}
	return Trace{}, fmt.Errorf("no single trace covers every service: %s", strings.Join(seen, "; "))
}
