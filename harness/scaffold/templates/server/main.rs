//! A server workload pair made by `harness new`: `GET /work?n=N` answers with the FNV-1a 64 of
//! the decimal numbers 0..N-1, one per line, a placeholder for your own handler. Replace
//! `handle_work` and keep `main`: `serve.rs` (copied from the harness) parses the flags, listens on
//! 127.0.0.1 (or the IP address in `HARNESS_LISTEN_ADDRESS`, which the harness sets for load from
//! other hosts), answers /health and stops on SIGTERM with the transport settings the Go side uses.
//!
//! Usage: `__NAME__ --port PORT`

mod serve;

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// Bounds the work one request may ask for.
const MAX_N: u64 = 1_000_000;

/// The code being measured: paste yours here. The Go side must answer every request with the
/// same status and bytes.
async fn handle_work(Query(query): Query<HashMap<String, String>>) -> Response {
    let n = match query.get("n").map(|v| v.parse::<u64>()) {
        Some(Ok(n)) if n <= MAX_N => n,
        _ => {
            let body = "n must be an integer in [0, 1000000]\n";
            return (StatusCode::BAD_REQUEST, body).into_response();
        }
    };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut line = Vec::with_capacity(24);
    for i in 0..n {
        line.clear();
        writeln!(line, "{i}").expect("writing to a Vec cannot fail");
        for &byte in &line {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let content_type = [(header::CONTENT_TYPE, "text/plain; charset=utf-8")];
    (content_type, format!("{hash:016x}\n")).into_response()
}

async fn serve_until_stopped() -> Result<(), String> {
    let port = serve::Flags::parse(&["port"])?.get("port", 8080)?;
    let app = Router::new()
        .route("/health", get(serve::health))
        .route("/work", get(handle_work));
    serve::run(port, app).await.map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> ExitCode {
    match serve_until_stopped().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("__NAME__: {err}");
            ExitCode::FAILURE
        }
    }
}
