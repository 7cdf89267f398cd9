// Package fortio reads the JSON result of one fortio HTTP load run (what
// `fortio load -json` writes and what fortio's REST API /fortio/rest/run
// answers) and sums it up: requests per second, latency percentiles,
// errors.
package fortio

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Result is the part of fortio's HTTPRunnerResults that the bench reads.
// Durations in the histograms are in seconds.
type Result struct {
	RunType           string
	StartTime         time.Time
	RequestedQPS      string
	RequestedDuration string
	ActualQPS         float64
	// ActualDuration is in nanoseconds (a Go time.Duration).
	ActualDuration    int64
	NumThreads        int
	Version           string
	URL               string
	DurationHistogram Histogram
	// ErrorsDurationHistogram holds the calls that failed (any status but
	// 200, or no response).
	ErrorsDurationHistogram Histogram
	// RetCodes counts responses by HTTP status; -1 is a socket error.
	RetCodes map[string]int64
	// Sizes is the histogram of response sizes in bytes.
	Sizes Histogram
}

// Histogram is fortio's histogram summary.
type Histogram struct {
	Count       int64
	Min, Max    float64
	Sum, Avg    float64
	StdDev      float64
	Percentiles []Percentile
}

// Percentile is one requested percentile (50, 90, 99, ...) and its value.
type Percentile struct {
	Percentile float64
	Value      float64
}

// Parse decodes one fortio JSON result.
func Parse(r io.Reader) (*Result, error) {
	var res Result
	if err := json.NewDecoder(r).Decode(&res); err != nil {
		return nil, fmt.Errorf("fortio result: %w", err)
	}
	if res.RunType != "HTTP" {
		return nil, fmt.Errorf("fortio result: run type %q, want HTTP", res.RunType)
	}
	if res.DurationHistogram.Count == 0 {
		return nil, fmt.Errorf("fortio result: no calls made (histogram count 0)")
	}
	return &res, nil
}

// Percentile returns the value in seconds at percentile p (50 for the
// median), which must be one fortio was asked for.
func (r *Result) Percentile(p float64) (float64, error) {
	for _, q := range r.DurationHistogram.Percentiles {
		if q.Percentile == p {
			return q.Value, nil
		}
	}
	return 0, fmt.Errorf("fortio result has no p%g (has %v)", p, r.DurationHistogram.Percentiles)
}

// Summary is what the report shows of one run.
type Summary struct {
	Concurrency int
	Duration    time.Duration
	Requests    int64
	RPS         float64
	// P50, P90 and P99 are latencies in milliseconds.
	P50, P90, P99 float64
	// MeanMs is the mean latency in milliseconds.
	MeanMs float64
	// Errors counts calls that did not answer 200 (socket errors included).
	Errors int64
	// ResponseBytes is the mean response size.
	ResponseBytes float64
}

// Summarize turns a result into a Summary; it needs p50, p90 and p99.
func (r *Result) Summarize() (Summary, error) {
	s := Summary{
		Concurrency: r.NumThreads,
		Duration:    time.Duration(r.ActualDuration),
		Requests:    r.DurationHistogram.Count,
		RPS:         r.ActualQPS,
		MeanMs:      r.DurationHistogram.Avg * 1000,
		Errors:      r.DurationHistogram.Count - r.RetCodes["200"],
	}
	if r.Sizes.Count > 0 {
		s.ResponseBytes = r.Sizes.Avg
	}
	for _, p := range []struct {
		p   float64
		dst *float64
	}{{50, &s.P50}, {90, &s.P90}, {99, &s.P99}} {
		v, err := r.Percentile(p.p)
		if err != nil {
			return s, err
		}
		*p.dst = v * 1000
	}
	return s, nil
}
