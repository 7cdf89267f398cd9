// Package logging builds the services' structured logger: JSON lines on
// stderr, one line per request, each carrying the request id and trace id
// that Envoy put on the request so that a line can be matched with its trace
// in Jaeger and with the access logs of every hop.
package logging

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// Keys of the per-request fields, the same in every service so that one
// query finds a request's lines everywhere.
const (
	KeyService   = "service"
	KeyRequestID = "request_id"
	KeyTraceID   = "trace_id"
	KeyMethod    = "method"
	KeyStatus    = "status"
	KeyDuration  = "duration_ms"
)

// New returns a JSON logger writing to w at level and above, with every line
// naming the service.
func New(w io.Writer, level slog.Level, service string) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})
	return slog.New(h).With(KeyService, service)
}

// Discard returns a logger that writes nothing, for benchmarks.
func Discard() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}

// Millis is d in milliseconds with microsecond precision, the unit of
// duration_ms.
func Millis(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// Request writes the one line logged for a served request at level.
// Extra attributes follow the standard ones.
func Request(ctx context.Context, l *slog.Logger, level slog.Level, msg, requestID, traceID, method string, status any, took time.Duration, extra ...slog.Attr) {
	if !l.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 5+len(extra))
	attrs = append(attrs,
		slog.String(KeyRequestID, requestID),
		slog.String(KeyTraceID, traceID),
		slog.String(KeyMethod, method),
		slog.Any(KeyStatus, status),
		slog.Float64(KeyDuration, Millis(took)),
	)
	attrs = append(attrs, extra...)
	l.LogAttrs(ctx, level, msg, attrs...)
}
