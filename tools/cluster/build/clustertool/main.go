// Command clustertool holds the small pieces of tools/cluster/cluster that are easier in
// Go than in bash. It is built static (CGO_ENABLED=0), so that the smoke
// check can also run it inside a pod whose image has nothing but /pause.
//
//	clustertool cri-teardown -endpoint unix:///path/containerd.sock
//	    stops and removes every pod sandbox through the CRI, so that
//	    containerd itself releases the CNI network, netns and mounts
//	clustertool resolve [-server host:port] NAME
//	    prints the sorted IPv4 addresses of NAME, asking only that server
//	    (without -server: the resolver of /etc/resolv.conf, as a pod does)
//	clustertool get [-cacert FILE] [-token FILE] URL
//	    GETs URL and prints the status line and the first bytes of the body
//	clustertool serve [-addr :8080]
//	    answers every request with "hello from <hostname>" and logs it
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: clustertool cri-teardown|resolve|get|serve [flags]")
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	var err error
	switch cmd {
	case "cri-teardown":
		err = criTeardown(args)
	case "resolve":
		err = resolve(args)
	case "get":
		err = get(args)
	case "serve":
		err = serve(args)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "clustertool %s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func criTeardown(args []string) error {
	fs := flag.NewFlagSet("cri-teardown", flag.ExitOnError)
	endpoint := fs.String("endpoint", "", "CRI endpoint, unix:///path")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	conn, err := grpc.NewClient(*endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	rt := cri.NewRuntimeServiceClient(conn)
	list, err := rt.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	if err != nil {
		return err
	}
	var failed []string
	for _, s := range list.Items {
		name := s.Metadata.Namespace + "/" + s.Metadata.Name
		if _, err := rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			failed = append(failed, fmt.Sprintf("stop %s: %v", name, err))
			continue
		}
		if _, err := rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			failed = append(failed, fmt.Sprintf("remove %s: %v", name, err))
			continue
		}
	}
	fmt.Printf("removed %d pod sandboxes\n", len(list.Items)-len(failed))
	if len(failed) > 0 {
		return fmt.Errorf("%s", strings.Join(failed, "; "))
	}
	return nil
}

func resolve(args []string) error {
	fs := flag.NewFlagSet("resolve", flag.ExitOnError)
	server := fs.String("server", "", "DNS server host:port (default: /etc/resolv.conf)")
	timeout := fs.Duration("timeout", 5*time.Second, "")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return fmt.Errorf("want one name")
	}
	r := net.DefaultResolver
	if *server != "" {
		r = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, *server)
		}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	ips, err := r.LookupIP(ctx, "ip4", fs.Arg(0))
	if err != nil {
		return err
	}
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	sort.Strings(out)
	fmt.Println(strings.Join(out, " "))
	return nil
}

func get(args []string) error {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	cacert := fs.String("cacert", "", "CA bundle that must sign the server certificate")
	token := fs.String("token", "", "file with a bearer token")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return fmt.Errorf("want one URL")
	}
	tr := &http.Transport{}
	if *cacert != "" {
		pem, err := os.ReadFile(*cacert)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificate in %s", *cacert)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	req, err := http.NewRequest("GET", fs.Arg(0), nil)
	if err != nil {
		return err
	}
	if *token != "" {
		t, err := os.ReadFile(*token)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(t)))
	}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	fmt.Printf("%s %s\n", resp.Status, strings.Join(strings.Fields(string(body)), " "))
	if resp.StatusCode >= 400 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", ":8080", "listen address")
	fs.Parse(args)
	host, _ := os.Hostname()
	fmt.Printf("serving on %s as %s\n", *addr, host)
	return http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s %s %s from %s\n", time.Now().UTC().Format(time.RFC3339), r.Method, r.URL.Path, r.RemoteAddr)
		fmt.Fprintf(w, "hello from %s\n", host)
	}))
}
