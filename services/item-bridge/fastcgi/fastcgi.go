// Package fastcgi is a FastCGI client for one job: send one request to a
// FastCGI responder (PHP-FPM) and read its whole answer, within a deadline.
//
// It is written here rather than taken from a library: Go's standard
// library has a FastCGI server (net/http/fcgi) but no client, no
// maintained client module was at hand, and the part of the protocol a
// responder request needs is small (FastCGI 1.0: a
// BEGIN_REQUEST record, the PARAMS stream, the STDIN stream, then STDOUT
// and STDERR records until END_REQUEST). The tests run it against a real
// PHP-FPM.
//
// One connection per request: PHP-FPM closes it after answering unless
// asked to keep it, and a connection that is never reused can never carry
// the end of an earlier answer into the next one. On loopback a connection
// costs tens of microseconds.
package fastcgi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Record types and the responder role (FastCGI 1.0, section 8).
const (
	typeBeginRequest = 1
	typeEndRequest   = 3
	typeParams       = 4
	typeStdin        = 5
	typeStdout       = 6
	typeStderr       = 7

	roleResponder = 1

	// statusRequestComplete is END_REQUEST's protocolStatus for a request
	// the application answered; the others say it refused it (overloaded,
	// unknown role, no multiplexing).
	statusRequestComplete = 0

	// requestID: one request per connection, so always the same.
	requestID = 1
	// maxContent is the most one record carries.
	maxContent = 65535
)

// MaxResponse bounds what one answer may hold (STDOUT and STDERR together),
// so that a runaway script cannot make the caller buffer without end.
const MaxResponse = 16 << 20

// Request is one FastCGI request.
type Request struct {
	// Params are the CGI variables: SCRIPT_FILENAME (which script PHP-FPM
	// runs), PATH_INFO, REQUEST_METHOD, HTTP_* for headers...
	Params map[string]string
	// Body is the request's STDIN stream.
	Body []byte
}

// Response is the application's answer, its CGI headers parsed.
type Response struct {
	// Status is the CGI Status header's code, 200 when the script set none.
	Status int
	Header http.Header
	Body   []byte
	// Stderr is what the application wrote to its FastCGI error stream
	// (PHP's warnings when its error_log is not set).
	Stderr []byte
}

// ErrConnect wraps a failure to reach the server at all: nothing was sent,
// so the request surely did not run.
var ErrConnect = errors.New("connecting to the FastCGI server")

// Do sends req to the FastCGI server at addr (host:port over TCP) and
// returns its answer. ctx bounds the whole exchange: when it ends, the
// connection is closed and Do returns ctx's error wrapped.
func Do(ctx context.Context, addr string, req Request) (*Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w %s: %w", ErrConnect, addr, err)
	}
	defer conn.Close()
	// A deadline on the connection bounds every read and write; closing it
	// when ctx is cancelled ends a read that waits for a stuck worker.
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	resp, err := exchange(conn, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The connection's deadline is ctx's: it may pass a moment before
		// ctx itself says so.
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, context.DeadlineExceeded
		}
	}
	return resp, err
}

func exchange(conn net.Conn, req Request) (*Response, error) {
	w := bufio.NewWriterSize(conn, 8192)
	// BEGIN_REQUEST: the responder role, flags 0 (the server closes the
	// connection when done).
	if err := writeRecord(w, typeBeginRequest, []byte{0, roleResponder, 0, 0, 0, 0, 0, 0}); err != nil {
		return nil, err
	}
	if err := writeStream(w, typeParams, encodeParams(req.Params)); err != nil {
		return nil, err
	}
	if err := writeStream(w, typeStdin, req.Body); err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("sending the request: %w", err)
	}

	var stdout, stderr bytes.Buffer
	r := bufio.NewReaderSize(conn, 8192)
	for {
		typ, content, err := readRecord(r)
		if err != nil {
			return nil, fmt.Errorf("reading the answer: %w", err)
		}
		switch typ {
		case typeStdout:
			stdout.Write(content)
		case typeStderr:
			stderr.Write(content)
		case typeEndRequest:
			if len(content) < 8 {
				return nil, fmt.Errorf("END_REQUEST record of %d bytes, want 8", len(content))
			}
			if ps := content[4]; ps != statusRequestComplete {
				return nil, fmt.Errorf("the server refused the request (protocol status %d)", ps)
			}
			resp, err := parseCGI(stdout.Bytes())
			if err != nil {
				return nil, err
			}
			resp.Stderr = stderr.Bytes()
			return resp, nil
		}
		if stdout.Len()+stderr.Len() > MaxResponse {
			return nil, fmt.Errorf("the answer exceeds %d bytes", MaxResponse)
		}
	}
}

// writeStream writes data as records of typ, then the empty record that
// ends the stream.
func writeStream(w io.Writer, typ byte, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), maxContent)
		if err := writeRecord(w, typ, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return writeRecord(w, typ, nil)
}

// writeRecord writes one record, padded to a multiple of 8 bytes as the
// specification recommends.
func writeRecord(w io.Writer, typ byte, content []byte) error {
	pad := (8 - len(content)%8) % 8
	h := [8]byte{1, typ, 0, requestID, 0, 0, byte(pad), 0}
	binary.BigEndian.PutUint16(h[4:6], uint16(len(content)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	if _, err := w.Write(content); err != nil {
		return err
	}
	_, err := w.Write(make([]byte, pad))
	return err
}

// readRecord reads one record and returns its type and content.
func readRecord(r io.Reader) (byte, []byte, error) {
	var h [8]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0] != 1 {
		return 0, nil, fmt.Errorf("FastCGI version %d, want 1", h[0])
	}
	if id := binary.BigEndian.Uint16(h[2:4]); id != requestID {
		return 0, nil, fmt.Errorf("record for request %d, want %d", id, requestID)
	}
	n := int(binary.BigEndian.Uint16(h[4:6])) + int(h[6])
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return 0, nil, err
	}
	return h[1], buf[:n-int(h[6])], nil
}

// encodeParams writes name-value pairs: each length in one byte below 128,
// else in four with the top bit set. Sorted, so a request encodes the same
// way every time.
func encodeParams(params map[string]string) []byte {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, k := range names {
		v := params[k]
		writeLen(&b, len(k))
		writeLen(&b, len(v))
		b.WriteString(k)
		b.WriteString(v)
	}
	return b.Bytes()
}

func writeLen(b *bytes.Buffer, n int) {
	if n < 128 {
		b.WriteByte(byte(n))
		return
	}
	var l [4]byte
	binary.BigEndian.PutUint32(l[:], uint32(n)|1<<31)
	b.Write(l[:])
}

// parseCGI splits a CGI answer into its headers and body. The Status
// header, when present, gives the code ("404 Not Found").
func parseCGI(out []byte) (*Response, error) {
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(out)))
	mh, err := tp.ReadMIMEHeader()
	if err != nil && !(errors.Is(err, io.EOF) && len(mh) > 0) {
		return nil, fmt.Errorf("the answer has no CGI headers: %w", err)
	}
	resp := &Response{Status: http.StatusOK, Header: http.Header(mh)}
	if s := resp.Header.Get("Status"); s != "" {
		code, _, _ := strings.Cut(s, " ")
		if resp.Status, err = strconv.Atoi(code); err != nil {
			return nil, fmt.Errorf("CGI Status %q is not a code", s)
		}
		resp.Header.Del("Status")
	}
	body, err := io.ReadAll(tp.R)
	if err != nil {
		return nil, err
	}
	resp.Body = body
	return resp, nil
}
