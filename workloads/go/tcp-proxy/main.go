// Command tcp-proxy is a TCP forwarding proxy on the net package: every connection accepted on
// --port is forwarded to --upstream, both directions copied with io.Copy.
//
// On Linux, io.Copy between two *net.TCPConn does not copy through user space: TCPConn.ReadFrom
// moves the bytes with splice(2) through a pipe (of 1 MiB, F_SETPIPE_SZ) from the net package's
// pool. That is what a Go user gets from io.Copy; tcp-proxy-userspace is the same program copying
// through a 32 KiB buffer, as the Rust proxy (tokio) does. workloads/docs/tcp-proxy.md holds the
// contract and every difference.
//
// Usage: tcp-proxy --port PORT --upstream HOST:PORT
package main

import (
	"io"
	"net"

	"gorust/workloads/internal/proxy"
)

// spliceCopy is io.Copy: dst.ReadFrom(src), which splices TCP to TCP on Linux.
func spliceCopy(dst, src *net.TCPConn) (int64, error) {
	return io.Copy(dst, src)
}

func main() {
	proxy.Main("tcp-proxy", spliceCopy)
}
