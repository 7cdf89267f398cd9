// Package promapi reads Prometheus's instant query API, /api/v1/query: the
// series of a vector answer, each with its labels and its value.
//
// It is the one client of that API for the chart's smoke checker
// (services/smoke) and the e2e (e2e/).
package promapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/envoy-example/envoy-example/internal/httpget"
)

// Sample is one series of an instant vector: its labels and its value
// (NaN and ±Inf as Prometheus writes them).
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Query runs one instant query against the Prometheus at base (a URL, or
// host:port for http) and returns the samples of its vector.
func Query(ctx context.Context, client *http.Client, base, expr string) ([]Sample, error) {
	resp, body, err := httpget.Get(ctx, client, base, "/api/v1/query?"+url.Values{"query": {expr}}.Encode())
	if err != nil {
		return nil, err
	}
	// Prometheus answers errors (a bad query: 400, a timeout: 503) in the
	// same JSON as results: Parse says what went wrong.
	samples, err := Parse(body)
	if err != nil && resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %w", resp.Status, err)
	}
	return samples, err
}

// Parse reads an answer of /api/v1/query, which must be a vector.
func Parse(body []byte) ([]Sample, error) {
	var r struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("the answer of Prometheus: %w: %.200s", err, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("prometheus: %s: %s", r.ErrorType, r.Error)
	}
	if r.Data.ResultType != "vector" {
		return nil, fmt.Errorf("prometheus answered a %s, want a vector", r.Data.ResultType)
	}
	var result []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	if err := json.Unmarshal(r.Data.Result, &result); err != nil {
		return nil, fmt.Errorf("the vector of Prometheus: %w", err)
	}
	out := make([]Sample, 0, len(result))
	for _, s := range result {
		v, ok := s.Value[1].(string)
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("prometheus: value %v of %v is not a number", s.Value[1], s.Metric)
		}
		if s.Metric == nil {
			s.Metric = map[string]string{}
		}
		out = append(out, Sample{Labels: s.Metric, Value: f})
	}
	return out, nil
}

// LabelSets are the label sets of samples, in order.
func LabelSets(samples []Sample) []map[string]string {
	out := make([]map[string]string, len(samples))
	for i, s := range samples {
		out[i] = s.Labels
	}
	return out
}

// One is the value of an answer that must be exactly one series (a sum).
func One(samples []Sample) (float64, error) {
	if len(samples) != 1 {
		return 0, fmt.Errorf("prometheus: %d series, want 1", len(samples))
	}
	return samples[0].Value, nil
}
