// Package propagation carries a request's trace context from the request a
// service serves onto every call it makes while serving it.
//
// The apps create no spans: Envoy does, on each hop. For Envoy to join the
// spans of one request into one trace, the app must copy the B3 headers it
// received (x-b3-traceid, x-b3-spanid, x-b3-parentspanid, x-b3-sampled,
// x-b3-flags or the single b3 header), x-request-id and x-ot-span-context
// onto its outbound calls.
//
// Envoy's fault headers (x-envoy-fault-abort-request and its kin) travel the
// same way, so that a fault header sent to the ingress reaches the inner
// hops: the service whose Envoy obeys fault headers (the chart's
// faults.<service>.headers) acts on it, the others pass it on. The B3 headers are read and written with
// zipkin-go's b3 package, so a malformed trace context is dropped rather than
// passed on; x-request-id and x-ot-span-context are opaque and copied as they
// came.
package propagation

import (
	"context"
	"iter"
	"maps"
	"net/http"
	"strings"

	"github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/propagation/b3"
	"google.golang.org/grpc/metadata"
)

// Header names beside B3's, lower case as HTTP/2 and gRPC metadata want.
const (
	RequestID     = "x-request-id"
	OTSpanContext = "x-ot-span-context"
)

// b3Keys are the B3 headers, single and multi form.
var b3Keys = []string{b3.TraceID, b3.SpanID, b3.ParentSpanID, b3.Sampled, b3.Flags, b3.Context}

// FaultKeys are the headers of Envoy's fault filter that ask for an abort or
// a delay; the apps pass them on as they came.
var FaultKeys = []string{
	"x-envoy-fault-abort-request",
	"x-envoy-fault-abort-grpc-request",
	"x-envoy-fault-abort-request-percentage",
	"x-envoy-fault-delay-request",
	"x-envoy-fault-delay-request-percentage",
}

// Headers is the set of headers one request passes on, keyed by lower-case
// name. The zero value passes nothing on.
type Headers struct {
	values  map[string]string
	traceID string
}

// RequestID is the request's x-request-id, or "".
func (h Headers) RequestID() string { return h.values[RequestID] }

// TraceID is the request's trace id in hex, or "" when it came with none.
func (h Headers) TraceID() string { return h.traceID }

// Get returns the value of one propagated header, or "".
func (h Headers) Get(name string) string { return h.values[strings.ToLower(name)] }

// All yields every propagated header, lower-case name and value, for a
// transport other than gRPC and HTTP (the item bridge's FastCGI params).
func (h Headers) All() iter.Seq2[string, string] { return maps.All(h.values) }

// Len is the number of headers passed on.
func (h Headers) Len() int { return len(h.values) }

// FromHTTP reads the propagated headers of an inbound HTTP request.
func FromHTTP(r *http.Request) Headers {
	return collect(r.Header.Get)
}

// FromMetadata reads the propagated headers of inbound gRPC metadata.
func FromMetadata(md metadata.MD) Headers {
	return collect(func(key string) string {
		v := md.Get(key)
		if len(v) == 0 {
			return ""
		}
		return v[len(v)-1]
	})
}

// collect builds Headers from a getter of inbound header values.
func collect(get func(string) string) Headers {
	in := b3.Map{}
	for _, k := range b3Keys {
		if v := get(k); v != "" {
			in[k] = v
		}
	}
	h := Headers{}
	if len(in) > 0 {
		h.values, h.traceID = normalizeB3(in)
	}
	for _, k := range append([]string{RequestID, OTSpanContext}, FaultKeys...) {
		if v := get(k); v != "" && validValue(v) {
			if h.values == nil {
				h.values = map[string]string{}
			}
			h.values[k] = v
		}
	}
	return h
}

// normalizeB3 parses the inbound B3 headers and writes them back out in the
// same form (multi headers, plus the single b3 header when it came with
// one). A context that does not parse is dropped: passing it on would only
// make the next hop drop it.
func normalizeB3(in b3.Map) (map[string]string, string) {
	sc, err := in.Extract()
	if err != nil || sc == nil || (*sc == model.SpanContext{}) {
		return nil, ""
	}
	out := b3.Map{}
	opts := []b3.InjectOption{}
	if in[b3.Context] != "" {
		opts = append(opts, b3.WithSingleAndMultiHeader())
	}
	if err := out.Inject(opts...)(*sc); err != nil {
		return nil, ""
	}
	traceID := ""
	if !sc.TraceID.Empty() {
		traceID = sc.TraceID.String()
	}
	return out, traceID
}

// validValue accepts what gRPC lets travel as a metadata value: printable
// ASCII, which is also all that Envoy generates (UUIDs, hex ids). Anything
// else would make the outbound call fail, so it is not passed on.
func validValue(v string) bool {
	if len(v) > 1024 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

type contextKey struct{}

// NewContext returns ctx carrying h, for the calls made while serving it.
func NewContext(ctx context.Context, h Headers) context.Context {
	return context.WithValue(ctx, contextKey{}, h)
}

// FromContext returns the Headers that ctx carries, or the zero Headers.
func FromContext(ctx context.Context) Headers {
	h, _ := ctx.Value(contextKey{}).(Headers)
	return h
}

// AppendToOutgoing returns ctx with h added to its outgoing gRPC metadata.
func AppendToOutgoing(ctx context.Context, h Headers) context.Context {
	if len(h.values) == 0 {
		return ctx
	}
	kv := make([]string, 0, 2*len(h.values))
	for k, v := range h.values {
		kv = append(kv, k, v)
	}
	return metadata.AppendToOutgoingContext(ctx, kv...)
}
