//! kv-cache: an in-memory key-value cache served over HTTP with axum (tokio + hyper): a std
//! `HashMap` behind an `RwLock`, preloaded with `--entries` small entries, then churned by PUTs.
//!
//! `GET /kv/{key}` answers the value (200) or 404; `PUT /kv/{key}` stores the body as the new
//! value (204). The Go program workloads/go/kv-cache answers with the same bytes;
//! workloads/docs/kv-cache.md describes the workload and workloads/docs/http-json.md the contract.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// PUT bodies above this are refused with 413.
const MAX_VALUE_SIZE: usize = 1024;

/// Values are plain `Vec<u8>`s of exactly their length. `Bytes` would make GET a reference-count
/// bump, but a `Bytes` built from a `Vec` allocates a shared header on its first clone, and one
/// taken from a request body can pin the connection's whole read buffer, so memory would drift.
type Db = Arc<RwLock<HashMap<String, Vec<u8>>>>;

/// The key of preloaded entry i; the Go side uses the same formulas.
fn key(i: u64) -> String {
    format!("key-{i:08}")
}

/// The value of preloaded entry i: 32..64 bytes, a per-entry hash then padding of a per-entry
/// length.
fn value(i: u64) -> Vec<u8> {
    let pad = (i % 33) as usize;
    let mut v = Vec::with_capacity(32 + pad);
    write!(v, "value-{i:08}-{:016x}-", splitmix64(i)).expect("write to a Vec");
    v.resize(v.len() + pad, b'x');
    v
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn preload(entries: u64) -> HashMap<String, Vec<u8>> {
    let mut m = HashMap::with_capacity(entries as usize);
    for i in 0..entries {
        m.insert(key(i), value(i));
    }
    m
}

async fn get_value(State(db): State<Db>, Path(key): Path<String>) -> Response {
    // Copy the value out so the lock is not held while the response is written.
    let value = db.read().expect("lock poisoned").get(&key).cloned();
    match value {
        Some(v) => v.into_response(), // Content-Type: application/octet-stream
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn put_value(State(db): State<Db>, Path(key): Path<String>, body: Bytes) -> StatusCode {
    if body.len() > MAX_VALUE_SIZE {
        return StatusCode::PAYLOAD_TOO_LARGE;
    }
    let value = body.to_vec(); // own the bytes: `body` may share the connection's buffer
    db.write().expect("lock poisoned").insert(key, value);
    StatusCode::NO_CONTENT
}

// The multi-thread runtime takes its worker count from TOKIO_WORKER_THREADS (default: one per
// core), which the harness sets to the same value as Go's GOMAXPROCS.
#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("kv-cache: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let flags = serve::Flags::parse(&["port", "entries"])?;
    let (port, entries) = (flags.get("port", 8080)?, flags.get("entries", 1_000_000)?);
    // Preload before listening: /health answers only once the cache is full.
    let db: Db = Arc::new(RwLock::new(preload(entries)));
    let app = Router::new()
        .route("/health", get(serve::health))
        .route("/kv/{key}", get(get_value).put(put_value))
        .with_state(db.clone());
    serve::run(port, app).await?;
    // Leave the cache to the OS: freeing millions of entries one by one takes about half a
    // second, which would break the 1 s shutdown budget (Go frees nothing at exit either).
    std::mem::forget(db);
    Ok(())
}
