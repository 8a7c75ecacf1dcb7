// Package serve is the process boilerplate the server workloads (http-json, kv-cache, tcp-proxy)
// share: listen on 127.0.0.1 (or the address in HARNESS_LISTEN_ADDRESS), answer /health, and stop
// gracefully on SIGTERM within the contract's 1 s (workloads/docs/http-json.md). The handlers that
// are measured stay in each command. Listen and SignalContext are the pieces a server that is not
// net/http (tcp-proxy) uses; Run is the whole of it for the HTTP servers.
package serve

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// GracePeriod is how long in-flight requests get after SIGTERM: the process must end within 1 s.
const GracePeriod = 900 * time.Millisecond

// Health answers GET /health with "ok".
func Health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok"))
}

// ListenAddressVariable names the address to listen on (the binary contract, workloads/README.md):
// the harness sets it to the server host's address when load comes from other hosts; unset or
// empty, 127.0.0.1.
const ListenAddressVariable = "HARNESS_LISTEN_ADDRESS"

// ListenAddress is the IP address to listen on, from ListenAddressVariable.
func ListenAddress() (string, error) {
	address := os.Getenv(ListenAddressVariable)
	if address == "" {
		return "127.0.0.1", nil
	}
	if net.ParseIP(address) == nil {
		return "", fmt.Errorf("%s=%q is not an IP address", ListenAddressVariable, address)
	}
	return address, nil
}

// Listen listens on ListenAddress():port with TCP keep-alive probes off on every accepted
// connection (tokio sends none; Go's default would probe after 15 s idle). The backlog is
// net.core.somaxconn, which net.Listen asks for; TCP_NODELAY is on for every accepted connection
// (the net package's default). It prints nothing: the caller prints "listening ADDR".
func Listen(port int) (net.Listener, error) {
	address, err := ListenAddress()
	if err != nil {
		return nil, err
	}
	lc := net.ListenConfig{KeepAlive: -1} // negative: no keep-alive probes on accepted connections
	return lc.Listen(context.Background(), "tcp", net.JoinHostPort(address, strconv.Itoa(port)))
}

// SignalContext returns a context that is cancelled on SIGTERM or SIGINT; stop releases the
// signal handlers.
func SignalContext() (ctx context.Context, stop context.CancelFunc) {
	return signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
}

// Run listens on ListenAddress():port, prints "listening ADDR", and returns after SIGTERM/SIGINT
// once in-flight requests have finished, or after GracePeriod at the latest.
//
// The transport is set up as in the Rust servers (crates/serve), and the harness records what the
// running server does (harness/transport.py): the listen backlog is net.core.somaxconn, which
// net.Listen asks for; TCP_NODELAY is on for every accepted connection (the net package's
// default); TCP keep-alive probes are off (tokio sends none; Go's default would probe after 15 s
// idle); HTTP/1.1 keep-alive is on with no idle timeout (net/http's default); no header-read
// timeout (net/http's default, and axum::serve has none: a ReadHeaderTimeout here would also cost
// Go a read deadline per request that Rust does not pay). How each side writes a response and
// which threads it runs are framework defaults, disclosed in workloads/docs/http-json.md.
func Run(port int, h http.Handler) error {
	ln, err := Listen(port)
	if err != nil {
		return err
	}
	fmt.Println("listening", ln.Addr())

	ctx, stop := SignalContext()
	defer stop()
	srv := &http.Server{Handler: h}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), GracePeriod)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close() // grace period over: drop the connections still busy
	}
	return nil
}
