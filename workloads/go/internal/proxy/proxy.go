// Package proxy is the TCP forwarding proxy the Go tcp-proxy programs share: accept on the
// contract's address, dial the upstream for every connection, copy both directions, stop on
// SIGTERM within the contract's 1 s. The programs differ only in the Copy function they pass
// (tcp-proxy: io.Copy, which splices on Linux; tcp-proxy-userspace: a 32 KiB user-space buffer).
// The Rust program workloads/rust/crates/tcp-proxy does the same with tokio;
// workloads/docs/tcp-proxy.md holds what is measured and every difference.
package proxy

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"gorust/workloads/internal/serve"
)

// CopyFunc copies src to dst until src reaches EOF (nil error) or fails. It must not close
// either connection.
type CopyFunc func(dst, src *net.TCPConn) (int64, error)

// BufferSize is the user-space buffer of each direction where one is used: what io.Copy allocates
// when it cannot splice, and what the Rust proxy gives copy_bidirectional_with_sizes each way.
const BufferSize = 32 << 10

// acceptRetry is the pause after a failed accept (EMFILE and the like) before the next one.
const acceptRetry = 10 * time.Millisecond

// Main parses --port and --upstream, runs the proxy with copy, and exits: 0 after SIGTERM/SIGINT,
// 1 on a start-up error, 2 on bad flags (as the flag package does for unknown ones).
func Main(name string, copy CopyFunc) {
	port := flag.Int("port", 8080, "port to listen on")
	upstream := flag.String("upstream", "", "HOST:PORT to forward every connection to")
	flag.Parse()
	if _, _, err := net.SplitHostPort(*upstream); err != nil || flag.NArg() != 0 {
		fmt.Fprintf(os.Stderr, "%s: --upstream HOST:PORT is required\n", name)
		os.Exit(2)
	}
	if err := Run(name, *port, *upstream, copy); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

// Run listens on serve.Listen(port), prints "listening ADDR", forwards every accepted connection
// to upstream, and returns after SIGTERM/SIGINT: it stops accepting at once, gives open
// connections up to serve.GracePeriod to end, then closes the rest.
//
// Transport: both connections of a pair have TCP_NODELAY on (the net package's default for
// accepted and dialed TCP connections alike) and no keep-alive probes (serve.Listen, and the
// Dialer's KeepAlive: -1). When one direction reaches EOF the proxy half-closes the other side
// (CloseWrite, a FIN) and keeps copying the other direction; both connections are closed when both
// directions are done, or at once when either direction fails (as tokio's copy_bidirectional
// returns on the first error). A failed upstream dial closes the client connection and writes one
// line to stderr; copy errors (a peer's reset) are not logged.
func Run(name string, port int, upstream string, copy CopyFunc) error {
	ln, err := serve.Listen(port)
	if err != nil {
		return err
	}
	fmt.Println("listening", ln.Addr())

	ctx, stop := serve.SignalContext()
	defer stop()
	// hard is cancelled when the grace period is over: it aborts dials still under way.
	hard, abort := context.WithCancel(context.Background())
	defer abort()
	p := &proxy{
		name:     name,
		upstream: upstream,
		copy:     copy,
		dialer:   net.Dialer{KeepAlive: -1}, // negative: no keep-alive probes
		hard:     hard,
		conns:    make(map[net.Conn]struct{}),
	}

	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := ln.Accept()
			if err != nil {
				if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
					return
				}
				fmt.Fprintf(os.Stderr, "%s: accept: %v\n", name, err)
				time.Sleep(acceptRetry)
				continue
			}
			if !p.track(c) {
				c.Close() // shutting down
				continue
			}
			p.wg.Add(1)
			go p.handle(c.(*net.TCPConn))
		}
	}()

	<-ctx.Done()
	ln.Close()
	<-accepted

	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(serve.GracePeriod):
		abort()
		p.closeAll() // grace period over: drop the connections still open
	}
	return nil
}

type proxy struct {
	name     string
	upstream string
	copy     CopyFunc
	dialer   net.Dialer
	hard     context.Context
	wg       sync.WaitGroup // one per accepted connection still being handled

	mu      sync.Mutex
	closing bool
	conns   map[net.Conn]struct{} // every open connection, client and upstream
}

// track records c as open; false once the proxy is dropping its connections.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closing = true
	for c := range p.conns {
		c.Close()
	}
}

// handle forwards one client connection: dial, copy both ways, close.
func (p *proxy) handle(client *net.TCPConn) {
	defer p.wg.Done()
	defer p.untrack(client)
	c, err := p.dialer.DialContext(p.hard, "tcp", p.upstream)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: upstream %s: %v\n", p.name, p.upstream, err)
		return
	}
	up := c.(*net.TCPConn)
	if !p.track(up) {
		up.Close()
		return
	}
	defer p.untrack(up)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.pipe(up, client)
	}()
	p.pipe(client, up)
	wg.Wait()
}

// pipe copies src to dst; at EOF it half-closes dst, on an error it closes both.
func (p *proxy) pipe(dst, src *net.TCPConn) {
	_, err := p.copy(dst, src)
	if err == nil {
		err = dst.CloseWrite()
	}
	if err != nil {
		dst.Close()
		src.Close()
	}
}
