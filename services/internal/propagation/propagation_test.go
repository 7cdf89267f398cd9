package propagation

import (
	"context"
	"net/http"
	"testing"

	"google.golang.org/grpc/metadata"
)

const (
	traceID = "463ac35c9f6413ad48485a3953bb6124"
	spanID  = "a2fb4a1d1a96d312"
)

func TestMultiHeadersPassOn(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("X-B3-TraceId", traceID)
	r.Header.Set("X-B3-SpanId", spanID)
	r.Header.Set("X-B3-ParentSpanId", "0020000000000001")
	r.Header.Set("X-B3-Sampled", "1")
	r.Header.Set("X-Request-Id", "req-1")
	r.Header.Set("X-Ot-Span-Context", "opaque;value")
	h := FromHTTP(r)
	want := map[string]string{
		"x-b3-traceid": traceID, "x-b3-spanid": spanID, "x-b3-parentspanid": "0020000000000001",
		"x-b3-sampled": "1", "x-request-id": "req-1", "x-ot-span-context": "opaque;value",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if h.Len() != len(want) || h.TraceID() != traceID || h.RequestID() != "req-1" {
		t.Errorf("headers = %+v", h)
	}

	// Into outgoing gRPC metadata and back out of incoming metadata.
	ctx := AppendToOutgoing(context.Background(), h)
	md, _ := metadata.FromOutgoingContext(ctx)
	back := FromMetadata(md)
	for k, v := range want {
		if got := back.Get(k); got != v {
			t.Errorf("after gRPC metadata: %s = %q, want %q", k, got, v)
		}
	}
}

func TestSingleB3HeaderPassesOnInBothForms(t *testing.T) {
	md := metadata.Pairs("b3", traceID+"-"+spanID+"-1", "x-request-id", "r")
	h := FromMetadata(md)
	if h.Get("b3") != traceID+"-"+spanID+"-1" || h.Get("x-b3-traceid") != traceID || h.Get("x-b3-sampled") != "1" {
		t.Errorf("single b3 header gave %+v", h)
	}
}

func TestSamplingDecisionAlonePassesOn(t *testing.T) {
	h := FromMetadata(metadata.Pairs("x-b3-sampled", "0"))
	if h.Get("x-b3-sampled") != "0" || h.TraceID() != "" {
		t.Errorf("x-b3-sampled: 0 alone gave %+v", h)
	}
}

// A malformed trace context is dropped rather than passed on, so that the
// next hop starts a clean trace; the request id still passes.
func TestMalformedB3IsDropped(t *testing.T) {
	for name, md := range map[string]metadata.MD{
		"bad trace id":       metadata.Pairs("x-b3-traceid", "not-hex", "x-b3-spanid", spanID, "x-request-id", "r"),
		"span without trace": metadata.Pairs("x-b3-spanid", spanID, "x-request-id", "r"),
		"bad single":         metadata.Pairs("b3", "zz-zz", "x-request-id", "r"),
	} {
		h := FromMetadata(md)
		if h.Get("x-b3-traceid") != "" || h.Get("x-b3-spanid") != "" || h.Get("b3") != "" || h.TraceID() != "" {
			t.Errorf("%s: passed on %+v", name, h)
		}
		if h.RequestID() != "r" {
			t.Errorf("%s: request id lost", name)
		}
	}
	for _, bad := range []string{"a\nb", "tab\there", "caf\u00e9"} {
		if h := FromMetadata(metadata.Pairs("x-request-id", bad)); h.RequestID() != "" {
			t.Errorf("request id %q, not printable ASCII, was passed on", bad)
		}
	}
}

func TestContext(t *testing.T) {
	if FromContext(context.Background()).Len() != 0 {
		t.Error("empty context carries headers")
	}
	h := FromMetadata(metadata.Pairs("x-request-id", "r"))
	if got := FromContext(NewContext(context.Background(), h)).RequestID(); got != "r" {
		t.Errorf("round trip through the context = %q", got)
	}
	if ctx := AppendToOutgoing(context.Background(), Headers{}); ctx != context.Background() {
		t.Error("empty headers changed the context")
	}
}

// Envoy's fault headers pass on as they came, from HTTP to gRPC and from
// gRPC to gRPC, so that one sent to the ingress reaches item; other
// x-envoy-* headers do not.
func TestFaultHeadersPassOn(t *testing.T) {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("X-Envoy-Fault-Abort-Grpc-Request", "14")
	r.Header.Set("X-Envoy-Fault-Delay-Request", "3000")
	r.Header.Set("X-Envoy-Retry-On", "5xx")
	h := FromHTTP(r)
	md, _ := metadata.FromOutgoingContext(AppendToOutgoing(context.Background(), h))
	back := FromMetadata(md)
	for k, v := range map[string]string{"x-envoy-fault-abort-grpc-request": "14", "x-envoy-fault-delay-request": "3000"} {
		if got := back.Get(k); got != v {
			t.Errorf("after two hops: %s = %q, want %q", k, got, v)
		}
	}
	if back.Len() != 2 {
		t.Errorf("after two hops: %d headers, want the two fault headers only", back.Len())
	}
}
