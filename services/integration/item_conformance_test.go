package integration

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	itemv1 "github.com/envoy-example/envoy-example/protos/item/v1"
	"github.com/envoy-example/envoy-example/services/integration/phpfpmtest"
	"github.com/envoy-example/envoy-example/services/integration/testmesh"
	"github.com/envoy-example/envoy-example/services/internal/app"
	"github.com/envoy-example/envoy-example/services/internal/validate"
	"github.com/envoy-example/envoy-example/services/item-bridge/bridge"
	"github.com/envoy-example/envoy-example/services/item/itemservice"
)

// The item service has two implementations: the Go service
// (services/item) and the PHP application (services/item-php) behind the
// gRPC-to-FastCGI bridge (services/item-bridge). The chart swaps one for
// the other under load, so a caller must not be able to tell them apart:
// the same cases run against both, and every answer, message and status
// code must be the same.

// itemCase is one call and what to compare of its answer.
type itemCase struct {
	name string
	call func(context.Context, *grpc.ClientConn) (proto.Message, error)
	// want is the status code the Go service gives: a check that the case
	// tests what its name says, on top of the comparison.
	want codes.Code
}

func getItem(id int64) func(context.Context, *grpc.ClientConn) (proto.Message, error) {
	return func(ctx context.Context, cc *grpc.ClientConn) (proto.Message, error) {
		return itemv1.NewItemServiceClient(cc).GetItem(ctx, &itemv1.GetItemRequest{Id: id})
	}
}

func batch(ids ...int64) func(context.Context, *grpc.ClientConn) (proto.Message, error) {
	return func(ctx context.Context, cc *grpc.ClientConn) (proto.Message, error) {
		return itemv1.NewItemServiceClient(cc).BatchGetItems(ctx, &itemv1.BatchGetItemsRequest{Ids: ids})
	}
}

// rawCall sends body as the request of method, without encoding it: a
// malformed message, a method the service does not have.
func rawCall(method string, body []byte) func(context.Context, *grpc.ClientConn) (proto.Message, error) {
	return func(ctx context.Context, cc *grpc.ClientConn) (proto.Message, error) {
		out := &rawMessage{}
		err := cc.Invoke(ctx, method, &rawMessage{b: body}, out, grpc.ForceCodecV2(rawCodec{}))
		if err != nil {
			return nil, err
		}
		// Decoded, so that equal answers compare equal however encoded.
		var m itemv1.ListItemsResponse
		if err := proto.Unmarshal(out.b, &m); err != nil {
			return nil, err
		}
		return &m, nil
	}
}

// repeat is n ids cycling through 1..5, every one known at any scale.
func repeat(n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(i%5 + 1)
	}
	return ids
}

// itemCases are the cases at seed scale; the unknown ids are those just
// past the catalogue.
func itemCases(scale int) []itemCase {
	last := int64(5 * scale)
	// Over gRPC's 4 MiB limit on a received message: ResourceExhausted
	// from the server's gRPC library, before any handler runs.
	huge := make([]int64, 500_000)
	for i := range huge {
		huge[i] = math.MaxInt64
	}
	return []itemCase{
		{"GetItem first", getItem(1), codes.OK},
		{"GetItem last", getItem(last), codes.OK},
		{"GetItem unknown id", getItem(last + 1), codes.NotFound},
		{"GetItem max int64", getItem(math.MaxInt64), codes.NotFound},
		{"GetItem id 0 (an empty request)", getItem(0), codes.InvalidArgument},
		{"GetItem negative id", getItem(-2), codes.InvalidArgument},
		{"GetItem min int64", getItem(math.MinInt64), codes.InvalidArgument},
		{"ListItems", func(ctx context.Context, cc *grpc.ClientConn) (proto.Message, error) {
			return itemv1.NewItemServiceClient(cc).ListItems(ctx, &itemv1.ListItemsRequest{})
		}, codes.OK},
		{"BatchGetItems empty", batch(), codes.OK},
		{"BatchGetItems in the order asked, repeats kept", batch(4, 1, 4, last), codes.OK},
		{"BatchGetItems unknown id", batch(1, last+4, 2, last+1), codes.NotFound},
		{"BatchGetItems id 0", batch(1, 0), codes.InvalidArgument},
		{"BatchGetItems negative id after an unknown one", batch(last+1, -7), codes.InvalidArgument},
		{"BatchGetItems as many ids as allowed", batch(repeat(validate.MaxIDs)...), codes.OK},
		{"BatchGetItems one id too many", batch(repeat(validate.MaxIDs + 1)...), codes.InvalidArgument},
		{"BatchGetItems over 4 MiB", batch(huge...), codes.ResourceExhausted},
		{"malformed request bytes", rawCall("/item.v1.ItemService/GetItem", []byte{0x08}), codes.Internal},
		{"wrong wire type", rawCall("/item.v1.ItemService/BatchGetItems", []byte{0x0a, 0x01, 0x01, 0x0d}), codes.Internal},
		{"unknown field kept quiet", rawCall("/item.v1.ItemService/GetItem", []byte{0x08, 0x02, 0x98, 0x06, 0x01}), codes.OK},
		{"unknown method", rawCall("/item.v1.ItemService/DeleteItem", nil), codes.Unimplemented},
	}
}

// answer is what a caller sees of one call.
type answer struct {
	code codes.Code
	msg  string
	resp proto.Message
}

func callCase(t *testing.T, cc *grpc.ClientConn, c itemCase) answer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.call(ctx, cc)
	st := status.Convert(err)
	return answer{st.Code(), st.Message(), resp}
}

// startGoItem and startPHPItem start the two implementations at scale.
func startGoItem(t *testing.T, scale int) *testmesh.Service {
	return testmesh.StartOne(t, "item", testmesh.Options{}, func(ctx context.Context, p *app.Process) error {
		return itemservice.Run(ctx, p, scale)
	})
}

func startPHPItem(t *testing.T, fpm *phpfpmtest.FPM, scale int, probe time.Duration) *testmesh.Service {
	return testmesh.StartOne(t, "item-bridge", testmesh.Options{}, func(ctx context.Context, p *app.Process) error {
		return bridge.Run(ctx, p, bridge.Config{FPMAddr: fpm.Addr, Script: fpm.Script, SeedScale: scale, ProbeInterval: probe})
	})
}

func TestItemConformance(t *testing.T) {
	fpm := phpfpmtest.Start(t)
	for _, scale := range []int{1, 10} {
		t.Run(fmt.Sprintf("seed scale %d", scale), func(t *testing.T) {
			goConn := startGoItem(t, scale).Dial(t)
			phpItem := startPHPItem(t, fpm, scale, 0)
			phpConn := phpItem.Dial(t)
			for _, c := range itemCases(scale) {
				goAnswer, phpAnswer := callCase(t, goConn, c), callCase(t, phpConn, c)
				if goAnswer.code != c.want {
					t.Errorf("%s: the Go item service answered %v %q; the case expects %v", c.name, goAnswer.code, goAnswer.msg, c.want)
				}
				if phpAnswer.code != goAnswer.code || phpAnswer.msg != goAnswer.msg {
					t.Errorf("%s: PHP answered %v %q, Go %v %q", c.name, phpAnswer.code, phpAnswer.msg, goAnswer.code, goAnswer.msg)
					continue
				}
				if !proto.Equal(phpAnswer.resp, goAnswer.resp) {
					t.Errorf("%s: PHP answered\n%v\nGo\n%v", c.name, short(phpAnswer.resp), short(goAnswer.resp))
				}
			}
			if t.Failed() {
				t.Logf("PHP-FPM's log:\n%s\nthe bridge's log:\n%s", fpm.Logs, phpItem.Logs)
			}
		})
	}
}

// short prints a message, cut to a length that keeps a failure readable.
func short(m proto.Message) string {
	s := fmt.Sprint(m)
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// TestItemPHPFPMKilled: PHP-FPM dying under the bridge makes calls fail
// with UNAVAILABLE at once, not hang, and turns the bridge's gRPC health
// NOT_SERVING and /readyz 503 (so callers' Envoys and the kubelet take the
// pod out); once PHP-FPM is back, so is the bridge.
func TestItemPHPFPMKilled(t *testing.T) {
	const probe = 100 * time.Millisecond
	fpm := phpfpmtest.Start(t)
	s := startPHPItem(t, fpm, 1, probe)
	cc := s.Dial(t)
	items, health := itemv1.NewItemServiceClient(cc), healthpb.NewHealthClient(cc)
	ctx := context.Background()
	if _, err := items.GetItem(ctx, &itemv1.GetItemRequest{Id: 1}); err != nil {
		t.Fatalf("GetItem before the kill: %v", err)
	}

	fpm.Kill()
	callCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	start := time.Now()
	_, err := items.GetItem(callCtx, &itemv1.GetItemRequest{Id: 1})
	took := time.Since(start)
	cancel()
	testmesh.WantStatus(t, "GetItem with PHP-FPM killed", err, codes.Unavailable, "PHP-FPM does not answer")
	if took > time.Second {
		t.Errorf("GetItem with PHP-FPM killed took %s; want an answer within 1s", took)
	}
	waitHealth(t, health, s, healthpb.HealthCheckResponse_NOT_SERVING, http.StatusServiceUnavailable, 20*probe)

	fpm.Restart(t)
	waitHealth(t, health, s, healthpb.HealthCheckResponse_SERVING, http.StatusOK, 20*probe)
	if it, err := items.GetItem(ctx, &itemv1.GetItemRequest{Id: 2}); err != nil || it.GetName() != "second item" {
		t.Errorf("GetItem after PHP-FPM came back = %v, %v", it, err)
	}
}

// waitHealth waits until the bridge's gRPC health for item.v1.ItemService
// says want and its /readyz answers code.
func waitHealth(t *testing.T, h healthpb.HealthClient, s *testmesh.Service, want healthpb.HealthCheckResponse_ServingStatus, code int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got healthpb.HealthCheckResponse_ServingStatus
	var gotCode int
	for {
		if r, err := h.Check(context.Background(), &healthpb.HealthCheckRequest{Service: "item.v1.ItemService"}); err == nil {
			got = r.GetStatus()
		}
		if resp, err := http.Get(s.OpsURL + "/readyz"); err == nil {
			gotCode = resp.StatusCode
			resp.Body.Close()
		}
		if got == want && gotCode == code {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: gRPC health %v and /readyz %d; want %v and %d\nbridge's log:\n%s", within, got, gotCode, want, code, s.Logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rawMessage and rawCodec carry a message's bytes as they are.
type rawMessage struct{ b []byte }

type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.(*rawMessage).b)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	v.(*rawMessage).b = data.Materialize()
	return nil
}

func (rawCodec) Name() string { return "proto" }
