//! tcp-proxy: a TCP forwarding proxy on tokio. Every connection accepted on `--port` is forwarded
//! to `--upstream`, both directions copied by `tokio::io::copy_bidirectional_with_sizes` through a
//! 32 KiB user-space buffer each way. The Go programs workloads/go/tcp-proxy (io.Copy, which
//! splices on Linux) and workloads/go/tcp-proxy-userspace (the same 32 KiB buffers) do the same;
//! workloads/docs/tcp-proxy.md holds the contract and every difference.
//!
//! Usage: `tcp-proxy --port PORT --upstream HOST:PORT`

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// The buffer of each direction: what Go's io.Copy allocates when it cannot splice (32 KiB).
/// tokio's `copy_bidirectional` would use 8 KiB (`DEFAULT_BUF_SIZE`).
const BUFFER_SIZE: usize = 32 * 1024;

/// The pause after a failed accept (EMFILE and the like) before the next one, as on the Go side.
const ACCEPT_RETRY: Duration = Duration::from_millis(10);

const NAME: &str = "tcp-proxy";

/// The CPU count the harness gives the program (`HARNESS_CPUS`, workloads/README.md "CPUs and
/// workers"), or the CPUs this process may run on when it is unset.
fn harness_cpus() -> Result<usize, String> {
    match std::env::var("HARNESS_CPUS") {
        Ok(value) => match value.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "bad HARNESS_CPUS {value:?} (want a positive integer)"
            )),
        },
        Err(_) => std::thread::available_parallelism()
            .map(usize::from)
            .map_err(|err| format!("cannot count the CPUs: {err}")),
    }
}

fn main() -> ExitCode {
    match start() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{NAME}: {err}");
            ExitCode::FAILURE
        }
    }
}

fn start() -> Result<(), Box<dyn std::error::Error>> {
    let flags = serve::Flags::parse(&["port", "upstream"])?;
    let port: u16 = flags.get("port", 8080)?;
    let upstream: String = flags.get("upstream", String::new())?;
    match upstream.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
        _ => return Err("--upstream HOST:PORT is required".into()),
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(harness_cpus()?)
        .enable_all()
        .build()?;
    runtime.block_on(run(port, Arc::from(upstream)))?;
    // Tasks still running were aborted by run; nothing blocking is left to wait for.
    runtime.shutdown_background();
    Ok(())
}

/// Listens on `serve::listen(port)`, prints `listening ADDR`, forwards every accepted connection to
/// `upstream`, and returns after SIGTERM/SIGINT: it stops accepting at once, gives open
/// connections up to `serve::GRACE_PERIOD` to end, then drops the rest.
///
/// Transport, as on the Go side: TCP_NODELAY on both connections of a pair, set here (tokio leaves
/// Nagle's algorithm on; Go's net package turns it off on every TCP connection); no keep-alive
/// probes (tokio's default, on accepted and connected streams); the listen backlog of the servers
/// (`serve::listen`). `copy_bidirectional_with_sizes` half-closes one side (`shutdown(SHUT_WR)`, a
/// FIN) when the other reaches EOF, and returns when both directions are done or at the first
/// error; the streams are closed when the task drops them. A failed connect closes the client
/// connection and writes one line to stderr; copy errors (a peer's reset) are not logged.
async fn run(port: u16, upstream: Arc<str>) -> std::io::Result<()> {
    let listener: TcpListener = serve::listen(port)?;
    println!("listening {}", listener.local_addr()?);

    let mut connections = JoinSet::new();
    let stop = serve::shutdown_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    connections.spawn(forward(client, upstream.clone()));
                }
                Err(err) => {
                    eprintln!("{NAME}: accept: {err}");
                    tokio::time::sleep(ACCEPT_RETRY).await;
                }
            },
            // Reap finished connections so the set holds only open ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);

    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(serve::GRACE_PERIOD, drained)
        .await
        .is_err()
    {
        // Grace period over: dropping the tasks closes the connections still open.
        connections.abort_all();
    }
    Ok(())
}

/// Forwards one client connection: connect, copy both ways, close (by dropping both streams).
async fn forward(mut client: TcpStream, upstream: Arc<str>) {
    let mut server = match TcpStream::connect(&*upstream).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("{NAME}: upstream {upstream}: {err}");
            return;
        }
    };
    // Go ignores a failure here too: the connection still works, with Nagle's algorithm.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let _ = tokio::io::copy_bidirectional_with_sizes(
        &mut client,
        &mut server,
        BUFFER_SIZE,
        BUFFER_SIZE,
    )
    .await;
}
