// Package frontendservice is the frontend: an HTTP/1.1 JSON API whose
// `GET /` answers the order report, every user with their orders and each
// order's items, gathered from the user and order services (order resolves
// the items through item).
//
// One `GET /` makes the same calls whatever the amount of data: ListUsers on
// user and ListOrderDetails on order, at the same time, and order makes one
// BatchGetItems on item. Every call inherits the request's deadline
// (--request-timeout) and carries its trace headers.
package frontendservice

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	orderv1 "github.com/envoy-example/envoy-example/protos/order/v1"
	userv1 "github.com/envoy-example/envoy-example/protos/user/v1"
	"github.com/envoy-example/envoy-example/services/frontend/report"
	"github.com/envoy-example/envoy-example/services/internal/logging"
	"github.com/envoy-example/envoy-example/services/internal/opsserver"
	"github.com/envoy-example/envoy-example/services/internal/propagation"
	"github.com/envoy-example/envoy-example/services/internal/validate"
)

// StatusClientClosed is answered (and logged) when the client went away
// before the report was ready; nobody reads it, the log line does.
const StatusClientClosed = 499

// Handler serves the frontend's HTTP API.
type Handler struct {
	users   userv1.UserServiceClient
	orders  orderv1.OrderServiceClient
	timeout time.Duration
	logger  *slog.Logger
	probes  *http.ServeMux
}

// NewHandler returns the frontend's handler: the report from users and
// orders, each request bounded by timeout, probes answering from ready.
// It reads the trace headers of each request itself.
func NewHandler(users userv1.UserServiceClient, orders orderv1.OrderServiceClient, timeout time.Duration, logger *slog.Logger, ready *opsserver.Readiness) http.Handler {
	h := &Handler{users: users, orders: orders, timeout: timeout, logger: logger, probes: http.NewServeMux()}
	opsserver.AddProbes(h.probes, ready)
	return propagation.Middleware(h)
}

// httpError is an answer other than 200, with the reason for the caller.
type httpError struct {
	code   int
	reason string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			h.logger.Error("panic while handling a request", "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if rw.code == 0 {
				writeError(rw, httpError{http.StatusInternalServerError, "internal error"})
			}
		}
		h.logRequest(r, rw.code, time.Since(start))
	}()

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		writeError(rw, httpError{http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: use GET", validate.Quote(r.Method))})
		return
	}
	switch r.URL.Path {
	case "/":
		h.serveReport(rw, r)
	case "/healthz", "/readyz":
		h.probes.ServeHTTP(rw, r)
	default:
		writeError(rw, httpError{http.StatusNotFound, fmt.Sprintf("no such path %s: the report is at /", validate.Quote(r.URL.Path))})
	}
}

func (h *Handler) logRequest(r *http.Request, code int, took time.Duration) {
	level := slog.LevelInfo
	switch {
	case code >= 500:
		level = slog.LevelWarn
	case r.URL.Path == "/healthz" || r.URL.Path == "/readyz":
		level = slog.LevelDebug
	}
	hdr := propagation.FromContext(r.Context())
	logging.Request(r.Context(), h.logger, level, "http request", hdr.RequestID(), hdr.TraceID(), r.Method, code, took,
		slog.String("path", r.URL.Path))
}

// serveReport answers `GET /` (every user) and `GET /?user=<id>` (one).
func (h *Handler) serveReport(w http.ResponseWriter, r *http.Request) {
	userID, herr := parseQuery(r.URL.RawQuery)
	if herr != nil {
		writeError(w, *herr)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.timeout)
	defer cancel()
	var rep report.Report
	if userID == 0 {
		rep, herr = h.allUsers(ctx)
	} else {
		rep, herr = h.oneUser(ctx, userID)
	}
	if herr != nil {
		if r.Context().Err() != nil {
			herr = &httpError{StatusClientClosed, "client closed the request"}
		}
		writeError(w, *herr)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// parseQuery accepts no query, or exactly one user=<id>; 0 means every user.
func parseQuery(raw string) (int64, *httpError) {
	if raw == "" {
		return 0, nil
	}
	q, err := url.ParseQuery(raw)
	if err != nil {
		return 0, &httpError{http.StatusBadRequest, "malformed query string: " + err.Error()}
	}
	for k := range q {
		if k != "user" {
			return 0, &httpError{http.StatusBadRequest, fmt.Sprintf("unknown query parameter %s: the report takes only user=<id>", validate.Quote(k))}
		}
	}
	vs := q["user"]
	if len(vs) == 0 {
		return 0, nil
	}
	if len(vs) > 1 {
		return 0, &httpError{http.StatusBadRequest, fmt.Sprintf("user given %d times: give one id", len(vs))}
	}
	id, err := validate.ParseID("user", vs[0])
	if err != nil {
		return 0, &httpError{http.StatusBadRequest, status.Convert(err).Message()}
	}
	return id, nil
}

// allUsers asks user and order at the same time.
func (h *Handler) allUsers(ctx context.Context) (report.Report, *httpError) {
	var (
		wg         sync.WaitGroup
		users      *userv1.ListUsersResponse
		orders     *orderv1.ListOrderDetailsResponse
		uerr, oerr error
	)
	wg.Go(func() { users, uerr = h.users.ListUsers(ctx, &userv1.ListUsersRequest{}) })
	wg.Go(func() { orders, oerr = h.orders.ListOrderDetails(ctx, &orderv1.ListOrdersRequest{}) })
	wg.Wait()
	if uerr != nil {
		return nil, peerError("user", uerr, h.timeout)
	}
	if oerr != nil {
		return nil, peerError("order", oerr, h.timeout)
	}
	return build(users.GetUsers(), orders.GetOrders()), nil
}

// oneUser asks user for the user and order for their orders at the same
// time.
func (h *Handler) oneUser(ctx context.Context, id int64) (report.Report, *httpError) {
	var (
		wg         sync.WaitGroup
		user       *userv1.User
		orders     *orderv1.ListOrderDetailsResponse
		uerr, oerr error
	)
	wg.Go(func() { user, uerr = h.users.GetUser(ctx, &userv1.GetUserRequest{Id: id}) })
	wg.Go(func() { orders, oerr = h.orders.ListOrderDetails(ctx, &orderv1.ListOrdersRequest{UserId: id}) })
	wg.Wait()
	if uerr != nil {
		return nil, peerError("user", uerr, h.timeout)
	}
	if oerr != nil {
		return nil, peerError("order", oerr, h.timeout)
	}
	return build([]*userv1.User{user}, orders.GetOrders()), nil
}

// build joins users and orders into the report, users by id. Orders of a
// user that the user service does not list are left out.
func build(users []*userv1.User, orders []*orderv1.OrderDetail) report.Report {
	byUser := make(map[int64][]report.Order, len(users))
	for _, o := range orders {
		items := make([]report.Item, len(o.GetItems()))
		for i, it := range o.GetItems() {
			items[i] = report.Item{ID: it.GetId(), Name: it.GetName(), Description: it.GetDescription()}
		}
		byUser[o.GetUserId()] = append(byUser[o.GetUserId()], report.Order{ID: o.GetId(), User: o.GetUserId(), Items: items})
	}
	users = slices.SortedFunc(slices.Values(users), func(a, b *userv1.User) int {
		return cmp.Compare(a.GetId(), b.GetId())
	})
	rep := make(report.Report, len(users))
	for i, u := range users {
		os := byUser[u.GetId()]
		if os == nil {
			os = []report.Order{}
		}
		rep[i] = report.UserOrders{User: report.User{ID: u.GetId(), Name: u.GetName(), Address: u.GetAddress()}, Orders: os}
	}
	return rep
}

// peerError is the answer when a call to peer failed: the peer's own
// verdict on the input (400, 404), or which peer failed and how (502, 503,
// 504).
func peerError(peer string, err error, timeout time.Duration) *httpError {
	st := status.Convert(err)
	switch st.Code() {
	case codes.InvalidArgument:
		return &httpError{http.StatusBadRequest, st.Message()}
	case codes.NotFound:
		return &httpError{http.StatusNotFound, st.Message()}
	case codes.Unavailable:
		return &httpError{http.StatusServiceUnavailable, fmt.Sprintf("%s service unavailable: %s", peer, st.Message())}
	case codes.DeadlineExceeded:
		return &httpError{http.StatusGatewayTimeout, fmt.Sprintf("%s service did not answer within the request timeout (%s): %s", peer, timeout, st.Message())}
	case codes.Canceled:
		return &httpError{StatusClientClosed, fmt.Sprintf("%s service call canceled: %s", peer, st.Message())}
	}
	return &httpError{http.StatusBadGateway, fmt.Sprintf("%s service failed: %s: %s", peer, st.Code(), st.Message())}
}

func writeError(w http.ResponseWriter, e httpError) {
	writeJSON(w, e.code, report.Error{Error: e.reason})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		code = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal error: encoding the answer"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// statusWriter remembers the status code written, for the log line.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
