package testmesh

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// WantStatus fails the test unless err is a gRPC status with code whose
// message contains says.
func WantStatus(tb testing.TB, what string, err error, code codes.Code, says string) {
	tb.Helper()
	st := status.Convert(err)
	if err == nil || st.Code() != code || !strings.Contains(st.Message(), says) {
		tb.Errorf("%s: got %v (%v); want %s saying %q", what, st.Code(), err, code, says)
	}
}
