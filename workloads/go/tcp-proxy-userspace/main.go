// Command tcp-proxy-userspace is tcp-proxy with splice(2) bypassed: each direction is copied with
// read(2)/write(2) through a 32 KiB user-space buffer (io.CopyBuffer with the connections wrapped so
// that io.Copy cannot find TCPConn's ReadFrom or WriteTo), the mechanism tokio's
// copy_bidirectional uses in the Rust proxy. A labelled variant: it isolates the splice
// asymmetry of the default pair (workloads/docs/tcp-proxy.md).
//
// Usage: tcp-proxy-userspace --port PORT --upstream HOST:PORT
package main

import (
	"io"
	"net"

	"gorust/workloads/internal/proxy"
)

// bufferCopy copies through a buffer of its own, allocated per direction and connection as
// tokio's copy_bidirectional_with_sizes does. The anonymous structs hide dst's ReadFrom and src's
// WriteTo, so io.CopyBuffer loops Read/Write on buf.
func bufferCopy(dst, src *net.TCPConn) (int64, error) {
	buf := make([]byte, proxy.BufferSize)
	return io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf)
}

func main() {
	proxy.Main("tcp-proxy-userspace", bufferCopy)
}
