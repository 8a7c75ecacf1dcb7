//! The process boilerplate the server workloads (`http-json`, `kv-cache`, `tcp-proxy`) share:
//! command-line flags, listening on 127.0.0.1 (or `HARNESS_LISTEN_ADDRESS`), `/health`, and a
//! graceful stop on SIGTERM within the contract's 1 s (workloads/docs/http-json.md). The handlers
//! that are measured stay in each crate. `listen` and `shutdown_signal` are the pieces a server
//! that is not axum (`tcp-proxy`) uses; `run` is the whole of it for the HTTP servers. The Go
//! servers share the same pieces through the package `workloads/go/internal/serve`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use axum::Router;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::Notify;

/// How long in-flight requests get after SIGTERM: the process must end within 1 s.
pub const GRACE_PERIOD: Duration = Duration::from_millis(900);

/// The listen backlog asked for. listen(2) caps it at net.core.somaxconn, which is what Go's
/// `net.Listen` asks for, so both get the kernel's maximum (`TcpListener::bind` would ask for 128).
const LISTEN_BACKLOG: u32 = u32::MAX;

/// `--name VALUE` flags (one or two leading dashes), checked against the names a program accepts;
/// unknown flags are an error, as with Go's flag package.
pub struct Flags(HashMap<String, String>);

impl Flags {
    /// Parses the process arguments, accepting only the flags in `known`.
    pub fn parse(known: &[&str]) -> Result<Flags, String> {
        let mut values = HashMap::new();
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let name = arg.trim_start_matches('-');
            if !known.contains(&name) {
                return Err(format!("unknown argument {arg:?}"));
            }
            let value = args.next().ok_or(format!("{arg} needs a value"))?;
            values.insert(name.to_string(), value);
        }
        Ok(Flags(values))
    }

    /// The value of flag `name`, or `default` when it was not given.
    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|_| format!("invalid {name} {v:?}")),
        }
    }
}

/// `GET /health`: answers "ok".
pub async fn health() -> &'static str {
    "ok"
}

/// Resolves on SIGTERM or SIGINT.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("install SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// The worker threads a server's tokio runtime gets: `HARNESS_CPUS` (workloads/README.md, "CPUs
/// and workers") when set, else what `std::thread::available_parallelism` says.
pub fn worker_threads() -> Result<usize, String> {
    match std::env::var("HARNESS_CPUS") {
        Ok(text) => match text.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("HARNESS_CPUS={text:?}: not a positive integer")),
        },
        Err(std::env::VarError::NotPresent) => std::thread::available_parallelism()
            .map(|n| n.get())
            .map_err(|e| format!("available_parallelism: {e}")),
        Err(err) => Err(format!("HARNESS_CPUS: {err}")),
    }
}

/// Names the address to listen on (the binary contract, workloads/README.md): the harness sets it
/// to the server host's address when load comes from other hosts; unset or empty, 127.0.0.1.
pub const LISTEN_ADDRESS_VARIABLE: &str = "HARNESS_LISTEN_ADDRESS";

/// The IP address to listen on, from `LISTEN_ADDRESS_VARIABLE`.
pub fn listen_address() -> std::io::Result<IpAddr> {
    match std::env::var(LISTEN_ADDRESS_VARIABLE) {
        Ok(value) if !value.is_empty() => value.parse::<IpAddr>().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{LISTEN_ADDRESS_VARIABLE}={value:?} is not an IP address"),
            )
        }),
        _ => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
    }
}

/// A plain TCP listener on `listen_address()`:port with the backlog above (`SO_REUSEADDR` on, as
/// `TcpListener::bind` and Go's `net.Listen` set it). Accepted connections have no keep-alive
/// probes (tokio's default) and Nagle's algorithm on (tokio's default): a caller that wants
/// TCP_NODELAY sets it per connection, as `run` does. It prints nothing: the caller prints
/// `listening ADDR`. Must be called inside a tokio runtime.
pub fn listen(port: u16) -> std::io::Result<TcpListener> {
    let address = listen_address()?;
    let socket = if address.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    socket.set_reuseaddr(true)?; // as `TcpListener::bind` and Go's `net.Listen` do
    socket.bind(SocketAddr::from((address, port)))?;
    socket.listen(LISTEN_BACKLOG)
}

/// Listens on `listen_address()`:port, prints `listening ADDR`, and serves `app` until
/// SIGTERM/SIGINT; then returns once in-flight requests have finished, or after `GRACE_PERIOD` at
/// the latest.
///
/// The transport is set up as in the Go servers (`workloads/go/internal/serve`), and the harness
/// records what the running server does (harness/transport.py): the backlog above; TCP_NODELAY on
/// every accepted connection (Go's default; hyper leaves it off); no TCP keep-alive probes (tokio's
/// default); HTTP/1.1 keep-alive with no idle timeout (hyper's default); no header-read timeout
/// (`axum::serve` gives hyper no timer, so hyper's 30 s default is off; Go's servers set none
/// either). Framework defaults left as they are, and disclosed in workloads/docs/http-json.md:
/// hyper writes a response in one `writev`; `#[tokio::main]` is the multi-thread runtime, whose
/// main thread runs this accept loop beside the worker(s).
pub async fn run(port: u16, app: Router) -> std::io::Result<()> {
    let listener = listen(port)?;
    println!("listening {}", listener.local_addr()?);
    let listener = listener.tap_io(|stream| {
        // Go ignores a failure here too: the connection still works, with Nagle's algorithm.
        let _ = stream.set_nodelay(true);
    });

    // Graceful shutdown waits for open connections; a load generator may keep some busy, so the
    // process gives up on them once the grace period after the signal is over.
    let stopping = Arc::new(Notify::new());
    let notify = stopping.clone();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown_signal().await;
        notify.notify_one();
    });
    tokio::select! {
        res = server => res?,
        _ = async {
            stopping.notified().await;
            tokio::time::sleep(GRACE_PERIOD).await;
        } => {}
    }
    Ok(())
}
