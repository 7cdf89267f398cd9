// Package bridge serves item.v1.ItemService over gRPC by handing each call
// to the item service's PHP application under PHP-FPM (services/item-php),
// as one FastCGI request, and turning the answer back into a gRPC answer.
//
//	gRPC call /item.v1.ItemService/GetItem     FastCGI request to PHP-FPM
//	  request message (protobuf)        --->     STDIN, the same bytes
//	  method                            --->     PATH_INFO
//	  x-request-id, x-b3-* metadata     --->     HTTP_X_REQUEST_ID, HTTP_X_B3_* params
//	  status code, message              <---     Grpc-Status, Grpc-Message headers
//	  response message                  <---     body
//
// The methods come from item.v1's descriptor, not from a hand-written list,
// so the bridge serves whatever methods the proto declares, and checks each
// message against its type on the way in and out. gRPC health says
// NOT_SERVING, and /readyz 503, while PHP-FPM does not answer its probe.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/grpcserver"
	"github.com/envoy-example/envoy-example/services/internal/propagation"
	"github.com/envoy-example/envoy-example/services/item-bridge/fastcgi"
)

// Defaults of the bridge's flags; DESIGN.md's ports.
const (
	DefaultFPMAddr = "127.0.0.1:9000"
	// DefaultScript is the PHP application's front script in its image.
	DefaultScript = "/srv/item-php/index.php"
	// DefaultTimeout bounds one call to PHP-FPM when the caller's deadline
	// is later or unset: the chart's route timeout.
	DefaultTimeout = 5 * time.Second
	// DefaultProbeInterval is how often PHP-FPM is probed.
	DefaultProbeInterval = time.Second
)

// ProbePath is the PATH_INFO of the probe, which the PHP application
// answers with Grpc-Status 0 and no body.
const ProbePath = "/healthz"

// Config is the bridge's settings.
type Config struct {
	// FPMAddr is PHP-FPM's FastCGI listener, host:port.
	FPMAddr string
	// Script is SCRIPT_FILENAME: the PHP application's front script as
	// PHP-FPM sees it (a path in PHP-FPM's container, not the bridge's).
	Script string
	// Timeout bounds one call to PHP-FPM.
	Timeout time.Duration
	// ProbeInterval is how often PHP-FPM is probed, and bounds one probe.
	ProbeInterval time.Duration
	// SeedScale is passed on to the PHP application as SEED_SCALE.
	SeedScale int
}

// Bridge forwards the calls of one gRPC service to PHP-FPM.
type Bridge struct {
	c      Config
	logger *slog.Logger
}

// New returns a Bridge for c, logging to logger.
func New(c Config, logger *slog.Logger) *Bridge {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	return &Bridge{c: c, logger: logger}
}

// Run serves item.v1.ItemService through PHP-FPM on p until ctx ends.
func Run(ctx context.Context, p *app.Process, c Config) error {
	b := New(c, p.Logger)
	return Serve(ctx, p, c, b.Probe)
}

// Serve is Run with probe in place of the bridge's own probe of PHP-FPM
// (tests replace it).
func Serve(ctx context.Context, p *app.Process, c Config, probe func(context.Context, func(error))) error {
	srv, err := p.NewGRPCServer()
	if err != nil {
		return err
	}
	b := New(c, p.Logger)
	b.Register(srv, itemv1.File_item_v1_item_proto.Services().ByName("ItemService"))
	// Not available until PHP-FPM has answered once.
	health := func(err error) {
		srv.SetAvailable(err == nil)
		if err != nil {
			p.Readiness.SetDown("PHP-FPM does not answer: " + err.Error())
		} else {
			p.Readiness.SetDown("")
		}
	}
	health(errors.New("not probed yet"))
	// The probe runs until the server has drained, not just until SIGTERM:
	// the calls of the drain delay still need PHP-FPM.
	probeCtx, stopProbe := context.WithCancel(context.Background())
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		probe(probeCtx, health)
	}()
	err = p.ServeGRPC(ctx, srv)
	stopProbe()
	<-probed
	return err
}

// Register registers every method of the service sd on srv, each handled
// by a FastCGI request to PHP-FPM.
func (b *Bridge) Register(srv *grpcserver.Server, sd protoreflect.ServiceDescriptor) {
	desc := &grpc.ServiceDesc{
		ServiceName: string(sd.FullName()),
		// Any handler will do: the methods below never use it.
		HandlerType: (*any)(nil),
		Metadata:    sd.ParentFile().Path(),
	}
	for i := range sd.Methods().Len() {
		m := sd.Methods().Get(i)
		if m.IsStreamingClient() || m.IsStreamingServer() {
			// FastCGI carries one request and one answer.
			panic(fmt.Sprintf("bridge: %s streams; only unary methods can be bridged", m.FullName()))
		}
		desc.Methods = append(desc.Methods, grpc.MethodDesc{MethodName: string(m.Name()), Handler: b.handler(m)})
	}
	srv.RegisterService(desc, b)
}

// handler is one method's gRPC handler: decode the request as the method's
// input type, then call PHP-FPM through the server's interceptors.
func (b *Bridge) handler(m protoreflect.MethodDescriptor) grpc.MethodHandler {
	method := "/" + string(m.Parent().FullName()) + "/" + string(m.Name())
	call := func(ctx context.Context, req any) (any, error) {
		return b.Call(ctx, method, req.(proto.Message), m.Output())
	}
	return func(_ any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		in := dynamicpb.NewMessage(m.Input())
		if err := dec(in); err != nil {
			return nil, err
		}
		if interceptor == nil {
			return call(ctx, in)
		}
		return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: b, FullMethod: method}, call)
	}
}

// Call sends one call of method to PHP-FPM and returns the answer as a
// message of type out, or the gRPC status PHP set. PHP-FPM not answering
// is Unavailable; the call's deadline, or the bridge's timeout if sooner,
// passing is DeadlineExceeded.
func (b *Bridge) Call(ctx context.Context, method string, in proto.Message, out protoreflect.MessageDescriptor) (proto.Message, error) {
	body, err := proto.Marshal(in)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encoding the request: %v", err)
	}
	params := b.params(method, len(body))
	for k, v := range propagation.FromContext(ctx).All() {
		params[cgiHeader(k)] = v
	}
	callCtx, cancel := context.WithTimeout(ctx, b.c.Timeout)
	defer cancel()
	resp, err := fastcgi.Do(callCtx, b.c.FPMAddr, fastcgi.Request{Params: params, Body: body})
	if err != nil {
		return nil, b.callError(ctx, err)
	}
	if len(resp.Stderr) > 0 {
		b.logger.Warn("PHP wrote to the FastCGI error stream", "method", method, "stderr", string(resp.Stderr))
	}
	if err := answerStatus(resp); err != nil {
		return nil, err
	}
	msg := dynamicpb.NewMessage(out)
	if err := proto.Unmarshal(resp.Body, msg); err != nil {
		return nil, status.Errorf(codes.Internal, "the PHP application's answer is not a %s: %v", out.FullName(), err)
	}
	return msg, nil
}

// params are the CGI variables of one call; PHP sees them in $_SERVER.
func (b *Bridge) params(method string, n int) map[string]string {
	return map[string]string{
		"GATEWAY_INTERFACE": "CGI/1.1",
		"SERVER_SOFTWARE":   "item-bridge",
		"SERVER_PROTOCOL":   "HTTP/2.0",
		"REQUEST_METHOD":    "POST",
		"SCRIPT_FILENAME":   b.c.Script,
		"SCRIPT_NAME":       "/" + path.Base(b.c.Script),
		"PATH_INFO":         method,
		"REQUEST_URI":       method,
		"CONTENT_TYPE":      "application/x-protobuf",
		"CONTENT_LENGTH":    strconv.Itoa(n),
		"SEED_SCALE":        strconv.Itoa(b.c.SeedScale),
	}
}

// cgiHeader is the CGI name of a request header: x-b3-traceid →
// HTTP_X_B3_TRACEID.
func cgiHeader(name string) string {
	return "HTTP_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// callError turns a failed exchange with PHP-FPM into a gRPC status.
func (b *Bridge) callError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "the call was cancelled while PHP-FPM worked on it")
	case errors.Is(err, context.DeadlineExceeded):
		if ctx.Err() != nil {
			return status.Error(codes.DeadlineExceeded, "the call's deadline passed while PHP-FPM worked on it")
		}
		return status.Errorf(codes.DeadlineExceeded, "PHP-FPM did not answer within %s", b.c.Timeout)
	case errors.Is(err, fastcgi.ErrConnect):
		return status.Errorf(codes.Unavailable, "PHP-FPM does not answer: %v", err)
	}
	// The connection broke during the exchange: PHP-FPM stopped, or its
	// worker died.
	return status.Errorf(codes.Unavailable, "PHP-FPM broke off the call: %v", err)
}

// answerStatus is the gRPC status the PHP application set, nil for OK.
// An answer without one (a PHP fatal error, a script that is not ours) is
// Internal.
func answerStatus(resp *fastcgi.Response) error {
	s := resp.Header.Get("Grpc-Status")
	if s == "" {
		return status.Errorf(codes.Internal, "the PHP application answered HTTP %d without a Grpc-Status", resp.Status)
	}
	code, err := strconv.ParseUint(s, 10, 32)
	if err != nil || code > uint64(codes.Unauthenticated) {
		return status.Errorf(codes.Internal, "the PHP application answered Grpc-Status %q, not a gRPC code", s)
	}
	if code == uint64(codes.OK) {
		return nil
	}
	msg, err := url.PathUnescape(resp.Header.Get("Grpc-Message"))
	if err != nil {
		msg = resp.Header.Get("Grpc-Message")
	}
	return status.Error(codes.Code(code), msg)
}

// Probe asks PHP-FPM for ProbePath every ProbeInterval until ctx ends and
// reports each result to report (nil when it answered OK). It logs only
// the changes.
func (b *Bridge) Probe(ctx context.Context, report func(error)) {
	t := time.NewTicker(b.c.ProbeInterval)
	defer t.Stop()
	var last error
	first := true
	for {
		err := b.probeOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		report(err)
		switch {
		case err == nil && (first || last != nil):
			b.logger.Info("PHP-FPM answers", "addr", b.c.FPMAddr)
		case err != nil && (first || last == nil):
			b.logger.Warn("PHP-FPM does not answer", "addr", b.c.FPMAddr, "error", err.Error())
		}
		last, first = err, false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (b *Bridge) probeOnce(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, b.c.ProbeInterval)
	defer cancel()
	resp, err := fastcgi.Do(ctx, b.c.FPMAddr, fastcgi.Request{Params: b.params(ProbePath, 0)})
	if err != nil {
		return err
	}
	if err := answerStatus(resp); err != nil {
		return fmt.Errorf("%s: %s", ProbePath, status.Convert(err).Message())
	}
	return nil
}
