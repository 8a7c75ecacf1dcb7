package jsonfront

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"gorust/workloads/internal/roundtrippb"
)

// BackendVariable names the back end a front hands its work to: unset or empty, the front does
// the work in-process.
const BackendVariable = "HARNESS_BACKEND"

// StartupTimeout bounds the one probe request a front sends its back end at start-up.
const StartupTimeout = 2 * time.Second

// MaxIdleConnsPerHost is the HTTP client's idle pool to the back end: above the load generator's
// 64 concurrent requests, so every connection is reused rather than closed after its request.
const MaxIdleConnsPerHost = 128

// probeCorpus is the smallest corpus of the model's shape: the start-up probe's request.
var probeCorpus = []byte(`{"tweets":[],"geometry":{"type":"FeatureCollection","features":[]}}`)

// FromEnvironment is the Roundtrip BackendVariable names, "in-process" when it is unset or empty,
// and a description of it for the log. A back-end Roundtrip is checked with one probe request
// before it is returned.
func FromEnvironment() (Roundtrip, string, error) {
	spec := strings.TrimSpace(os.Getenv(BackendVariable))
	if spec == "" {
		return InProcess, "in-process encoding/json", nil
	}
	scheme, target, ok := strings.Cut(spec, ":")
	if !ok || target == "" {
		return nil, "", fmt.Errorf("%s=%q: want grpc:TARGET or http:TARGET", BackendVariable, spec)
	}
	var (
		rt  Roundtrip
		err error
	)
	switch scheme {
	case "grpc":
		rt, err = GRPC(target)
	case "http":
		rt, err = HTTP(target)
	default:
		return nil, "", fmt.Errorf("%s=%q: unknown scheme %q (want grpc or http)", BackendVariable, spec, scheme)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s=%q: %w", BackendVariable, spec, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), StartupTimeout)
	defer cancel()
	if _, err := rt(ctx, probeCorpus); err != nil {
		return nil, "", fmt.Errorf("%s=%q: the back end does not answer: %w", BackendVariable, spec, err)
	}
	return rt, spec, nil
}

// GRPC is a Roundtrip over one grpc.ClientConn to target, in grpc-go's own target syntax
// ("127.0.0.1:PORT", "unix:/abs/path.sock"): a unary call per request, insecure credentials,
// every other setting grpc-go's default (workloads/docs/json-service.md lists them).
func GRPC(target string) (Roundtrip, error) {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	client := roundtrippb.NewRoundtripClient(conn)
	return func(ctx context.Context, corpus []byte) ([]byte, error) {
		summary, err := client.Roundtrip(ctx, &roundtrippb.Corpus{Json: corpus})
		if err != nil {
			if status.Code(err) == codes.InvalidArgument {
				return nil, fmt.Errorf("%w: %v", ErrMalformed, status.Convert(err).Message())
			}
			return nil, &BackendError{Err: err}
		}
		return AppendSummary(nil, summary.GetItems(), summary.GetBytes(), summary.GetChecksum()), nil
	}, nil
}

// HTTP is a Roundtrip that POSTs the corpus to the back end's /roundtrip, at "127.0.0.1:PORT" or
// "unix:/abs/path.sock", over HTTP/1.1 keep-alive connections of one net/http Transport, and
// passes a 200 answer's body through.
func HTTP(target string) (Roundtrip, error) {
	transport := &http.Transport{
		MaxIdleConnsPerHost: MaxIdleConnsPerHost,
		// No "Accept-Encoding: gzip" on the requests: the back end does not compress.
		DisableCompression: true,
	}
	url := "http://" + target + "/roundtrip"
	if path, ok := strings.CutPrefix(target, "unix:"); ok {
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("unix socket path %q is not absolute", path)
		}
		transport.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		url = "http://unix/roundtrip" // the host names the pool; DialContext ignores it
	} else if _, _, err := net.SplitHostPort(target); err != nil {
		return nil, fmt.Errorf("want HOST:PORT or unix:/abs/path.sock: %w", err)
	}
	client := &http.Client{Transport: transport}
	return func(ctx context.Context, corpus []byte) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(corpus))
		if err != nil {
			return nil, &BackendError{Err: err}
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, &BackendError{Err: err}
		}
		// Read to the end and close, so that the connection goes back to the pool.
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case err != nil:
			return nil, &BackendError{Err: err}
		case resp.StatusCode == http.StatusOK:
			return body, nil
		case resp.StatusCode == http.StatusBadRequest:
			return nil, fmt.Errorf("%w: %s", ErrMalformed, bytes.TrimSpace(body))
		default:
			return nil, &BackendError{Err: errors.New(resp.Status)}
		}
	}, nil
}
