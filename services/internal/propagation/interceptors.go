package propagation

import (
	"context"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// UnaryServerInterceptor stores the propagated headers of each inbound call
// in its context, where UnaryClientInterceptor finds them.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		return handler(NewContext(ctx, FromMetadata(md)), req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams (health
// Watch, reflection): they make no outbound calls, but their log line should
// carry the ids too.
func StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		md, _ := metadata.FromIncomingContext(ss.Context())
		return handler(srv, &contextStream{ServerStream: ss, ctx: NewContext(ss.Context(), FromMetadata(md))})
	}
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

// UnaryClientInterceptor adds the headers of the request being served, as
// stored in ctx, to every outbound call made with ctx.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(AppendToOutgoing(ctx, FromContext(ctx)), method, req, reply, cc, opts...)
	}
}

// Middleware stores the propagated headers of each inbound HTTP request in
// its context.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), FromHTTP(r))))
	})
}
