//! http-json: a JSON-over-HTTP API server built on axum (tokio + hyper) and serde_json.
//!
//! `GET /records?n=N` serialises the first N records of a table built at start-up;
//! `POST /records` decodes a JSON array of records into typed structs, validates them and answers
//! with a small summary. The Go program workloads/go/http-json answers every request with the same
//! bytes; workloads/docs/http-json.md holds the server contract.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// Largest n accepted by GET /records (and the table size).
const MAX_RECORDS: usize = 10_000;
/// POST bodies above this are refused with 413.
const MAX_BODY_SIZE: usize = 1 << 20;
const MAX_TAGS: usize = 16;

#[derive(Serialize, Deserialize)]
struct Address {
    street: String,
    city: String,
    zip: String,
}

#[derive(Serialize, Deserialize)]
struct Record {
    id: i64,
    name: String,
    email: String,
    tags: Vec<String>,
    score: f64,
    active: bool,
    address: Address,
}

/// The answer to a valid POST /records.
#[derive(Serialize)]
struct Summary {
    ok: bool,
    count: usize,
    active: usize,
    tags: usize,
}

#[derive(Serialize)]
struct ApiError {
    ok: bool,
    error: String,
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    let body = ApiError {
        ok: false,
        error: msg.into(),
    };
    (status, Json(body)).into_response()
}

const FIRST_NAMES: [&str; 16] = [
    "Ada", "Alan", "Barbara", "Claude", "Donald", "Edsger", "Frances", "Grace", "John", "Ken",
    "Leslie", "Margaret", "Niklaus", "Radia", "Tim", "Yukihiro",
];
const LAST_NAMES: [&str; 17] = [
    "Lovelace",
    "Turing",
    "Liskov",
    "Shannon",
    "Knuth",
    "Dijkstra",
    "Allen",
    "Hopper",
    "McCarthy",
    "Thompson",
    "Lamport",
    "Hamilton",
    "Wirth",
    "Perlman",
    "Berners-Lee",
    "Matsumoto",
    "Ritchie",
];
const TAG_NAMES: [&str; 12] = [
    "admin", "beta", "billing", "core", "eu", "free", "mobile", "ops", "pro", "support", "trial",
    "us",
];
const STREETS: [&str; 7] = [
    "Main St",
    "Oak Ave",
    "Pine Rd",
    "Maple Dr",
    "Cedar Ln",
    "Elm St",
    "Lake Blvd",
];
const CITIES: [&str; 11] = [
    "Springfield",
    "Riverton",
    "Fairview",
    "Greenville",
    "Bristol",
    "Clinton",
    "Madison",
    "Georgetown",
    "Salem",
    "Franklin",
    "Arlington",
];

/// Builds record i; the Go side uses the same formulas.
fn make_record(i: usize) -> Record {
    let first = FIRST_NAMES[i % FIRST_NAMES.len()];
    let last = LAST_NAMES[(i / FIRST_NAMES.len()) % LAST_NAMES.len()];
    let id = i as i64 + 1;
    Record {
        id,
        name: format!("{first} {last}"),
        email: format!(
            "{}.{}{id}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        ),
        tags: (0..1 + i % 3)
            .map(|j| TAG_NAMES[(i + j * 5) % TAG_NAMES.len()].to_string())
            .collect(),
        // (2k+1)/200 is never an integer, so both encoders print a fraction (Go would print 12
        // where serde_json prints 12.0).
        score: (2 * ((i * 7919) % 10_000) + 1) as f64 / 200.0,
        active: !i.is_multiple_of(3),
        address: Address {
            street: format!("{} {}", 100 + (i * 37) % 900, STREETS[i % STREETS.len()]),
            city: CITIES[(i / 3) % CITIES.len()].to_string(),
            zip: format!("{:05}", (i * 7919) % 100_000),
        },
    }
}

fn validate(r: &Record) -> Result<(), &'static str> {
    if r.id <= 0 {
        Err("id must be positive")
    } else if r.name.is_empty() {
        Err("name is empty")
    } else if !r.email.contains('@') {
        Err("invalid email")
    } else if r.tags.len() > MAX_TAGS {
        Err("too many tags")
    } else if !(0.0..=100.0).contains(&r.score) {
        Err("score out of range")
    } else if r.address.zip.len() != 5 {
        Err("invalid zip")
    } else {
        Ok(())
    }
}

#[derive(Deserialize)]
struct RecordsQuery {
    n: String,
}

async fn get_records(
    State(table): State<Arc<Vec<Record>>>,
    query: Result<Query<RecordsQuery>, QueryRejection>,
) -> Response {
    // Parsed as a signed 64-bit integer like Go's strconv.Atoi, so "-0" and "+5" agree.
    let n = match query.ok().and_then(|Query(q)| q.n.parse::<i64>().ok()) {
        Some(n) if n >= 0 => n as usize,
        _ => return error(StatusCode::BAD_REQUEST, "invalid query parameter n"),
    };
    if n > MAX_RECORDS {
        return error(
            StatusCode::BAD_REQUEST,
            format!("n must be at most {MAX_RECORDS}"),
        );
    }
    Json(&table[..n]).into_response()
}

/// Takes the raw body rather than the `Json` extractor so that, like the Go side, it does not
/// insist on a `Content-Type: application/json` request header.
async fn post_records(body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return error(StatusCode::PAYLOAD_TOO_LARGE, "body too large")
        }
        Err(_) => return error(StatusCode::BAD_REQUEST, "invalid JSON body"),
    };
    let Ok(recs) = serde_json::from_slice::<Vec<Record>>(&body) else {
        return error(StatusCode::BAD_REQUEST, "invalid JSON body");
    };
    let mut sum = Summary {
        ok: true,
        count: recs.len(),
        active: 0,
        tags: 0,
    };
    for (i, r) in recs.iter().enumerate() {
        if let Err(msg) = validate(r) {
            return error(StatusCode::BAD_REQUEST, format!("record {i}: {msg}"));
        }
        sum.active += usize::from(r.active);
        sum.tags += r.tags.len();
    }
    Json(sum).into_response()
}

// The multi-thread runtime takes its worker count from TOKIO_WORKER_THREADS (default: one per
// core), which the harness sets to the same value as Go's GOMAXPROCS.
#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("http-json: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let port = serve::Flags::parse(&["port"])?.get("port", 8080)?;
    let table: Arc<Vec<Record>> = Arc::new((0..MAX_RECORDS).map(make_record).collect());
    let app = Router::new()
        .route("/health", get(serve::health))
        .route("/records", get(get_records).post(post_records))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_SIZE))
        .with_state(table);
    serve::run(port, app).await?;
    Ok(())
}
