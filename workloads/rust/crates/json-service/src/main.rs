//! json-service: the Rust back end of the json-service hybrid (workloads/docs/json-service.md). It
//! does the json workload's work on one corpus per request (serde_json decode into `json::Corpus`,
//! compact re-encode: `json::summarize`) for a front (workloads/go/json-front with
//! HARNESS_BACKEND), over gRPC (tonic, the `Roundtrip` service of workloads/proto/roundtrip.proto)
//! or HTTP (axum, the Rust front's own `POST /roundtrip`), on TCP or a unix socket.
//!
//! Usage: json-service --listen 127.0.0.1:PORT|unix:/abs/path.sock --protocol grpc|http
//!
//! Prints `listening ADDR` once bound (`listening unix:/abs/path.sock` on a unix socket), stops
//! within 1 s of SIGTERM, and removes its unix socket file on the way out.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpSocket, UnixListener};
use tokio::sync::Notify;
use tonic::{Request, Response, Status};

mod pb {
    tonic::include_proto!("gorust.roundtrip.v1");
}

use pb::roundtrip_server::{Roundtrip, RoundtripServer};

/// The largest gRPC message accepted: the fronts' largest body plus the protobuf field's tag and
/// length. tonic's default (4 MiB) would refuse bodies the fronts accept; grpc-go's client sends
/// up to 2 GiB by default.
const MAX_MESSAGE_SIZE: usize = json_front::MAX_BODY_SIZE + 16;

/// The listen backlog asked for, as in crates/serve: the kernel caps it at net.core.somaxconn.
const LISTEN_BACKLOG: u32 = u32::MAX;

/// A server's run to its end (the graceful stop), whichever protocol and socket it serves.
type Server = Pin<Box<dyn Future<Output = Result<(), Box<dyn std::error::Error>>>>>;

struct Service;

#[tonic::async_trait]
impl Roundtrip for Service {
    async fn roundtrip(
        &self,
        request: Request<pb::Corpus>,
    ) -> Result<Response<pb::Summary>, Status> {
        match json::summarize(&request.get_ref().json) {
            Ok(s) => Ok(Response::new(pb::Summary {
                items: s.items,
                bytes: s.bytes,
                checksum: s.checksum,
            })),
            Err(_) => Err(Status::invalid_argument(json_front::MALFORMED)),
        }
    }
}

enum Listen {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

enum Protocol {
    Grpc,
    Http,
}

fn parse_listen(text: &str) -> Result<Listen, String> {
    if let Some(path) = text.strip_prefix("unix:") {
        if !path.starts_with('/') {
            return Err(format!(
                "--listen {text:?}: the unix socket path must be absolute"
            ));
        }
        return Ok(Listen::Unix(PathBuf::from(path)));
    }
    text.parse()
        .map(Listen::Tcp)
        .map_err(|_| format!("--listen {text:?}: want IP:PORT or unix:/abs/path.sock"))
}

/// Removes the unix socket file when the server is done, however it ends.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("json-service: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let flags = serve::Flags::parse(&["listen", "protocol"])?;
    let listen = parse_listen(&flags.get("listen", String::new())?)?;
    let protocol = match flags.get("protocol", String::new())?.as_str() {
        "grpc" => Protocol::Grpc,
        "http" => Protocol::Http,
        other => return Err(format!("--protocol {other:?}: want grpc or http").into()),
    };
    // One worker per CPU the harness gives (HARNESS_CPUS), as Go's GOMAXPROCS.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(serve::worker_threads()?)
        .enable_all()
        .build()?
        .block_on(serve_until_stopped(listen, protocol))
}

fn bind_tcp(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv6() {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

fn bind_unix(path: &Path) -> std::io::Result<(UnixListener, RemoveOnDrop)> {
    let listener = UnixListener::bind(path)?;
    Ok((listener, RemoveOnDrop(path.to_path_buf())))
}

/// Serves until SIGTERM/SIGINT, then lets in-flight requests finish for at most
/// `serve::GRACE_PERIOD`, as the fronts do.
async fn serve_until_stopped(
    listen: Listen,
    protocol: Protocol,
) -> Result<(), Box<dyn std::error::Error>> {
    let stopping = Arc::new(Notify::new());
    let notify = stopping.clone();
    let signal = async move {
        serve::shutdown_signal().await;
        notify.notify_one();
    };
    let grace = async move {
        stopping.notified().await;
        tokio::time::sleep(serve::GRACE_PERIOD).await;
    };
    let mut _socket_file = None;
    let server: Server = match (listen, protocol) {
        (Listen::Tcp(address), Protocol::Grpc) => {
            let listener = bind_tcp(address)?;
            println!("listening {}", listener.local_addr()?);
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            Box::pin(async move {
                grpc_server()
                    .serve_with_incoming_shutdown(incoming, signal)
                    .await?;
                Ok(())
            })
        }
        (Listen::Unix(path), Protocol::Grpc) => {
            let (listener, file) = bind_unix(&path)?;
            _socket_file = Some(file);
            println!("listening unix:{}", path.display());
            let incoming = tokio_stream::wrappers::UnixListenerStream::new(listener);
            Box::pin(async move {
                grpc_server()
                    .serve_with_incoming_shutdown(incoming, signal)
                    .await?;
                Ok(())
            })
        }
        (Listen::Tcp(address), Protocol::Http) => {
            use axum::serve::ListenerExt;
            let listener = bind_tcp(address)?;
            println!("listening {}", listener.local_addr()?);
            let listener = listener.tap_io(|stream| {
                let _ = stream.set_nodelay(true);
            });
            Box::pin(async move {
                axum::serve(listener, json_front::router())
                    .with_graceful_shutdown(signal)
                    .await?;
                Ok(())
            })
        }
        (Listen::Unix(path), Protocol::Http) => {
            let (listener, file) = bind_unix(&path)?;
            _socket_file = Some(file);
            println!("listening unix:{}", path.display());
            Box::pin(async move {
                axum::serve(listener, json_front::router())
                    .with_graceful_shutdown(signal)
                    .await?;
                Ok(())
            })
        }
    };
    tokio::select! {
        res = server => res?,
        _ = grace => {}
    }
    Ok(())
}

/// tonic's server with its defaults (workloads/docs/json-service.md lists them), the message limit
/// above the only change.
fn grpc_server() -> tonic::transport::server::Router {
    tonic::transport::Server::builder()
        .add_service(RoundtripServer::new(Service).max_decoding_message_size(MAX_MESSAGE_SIZE))
}
