//! The Rust front of the json-service hybrid (workloads/docs/json-service.md): `POST /roundtrip`
//! takes a json-workload corpus as its body, does the json workload's work on it in-process
//! (serde_json decode into `json::Corpus`, compact re-encode: [`json::summarize`]) and answers
//! with `{"items":N,"bytes":M,"checksum":"0123456789abcdef"}`, the same bytes as the Go fronts
//! (`workloads/go/internal/jsonfront`). The back end `json-service` serves this router too, as its
//! HTTP protocol.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

/// The largest corpus accepted (413 beyond), the same on every front (Go's
/// `jsonfront.MaxBodySize`) and on the back end.
pub const MAX_BODY_SIZE: usize = 16 << 20;

/// The 400 answer's message for a corpus that is not JSON of the model's shape (Go's
/// `jsonfront.ErrMalformed`).
pub const MALFORMED: &str = "malformed JSON corpus";

/// A one-line text/plain answer, as the Go fronts write it.
fn text(status: StatusCode, msg: &str) -> Response {
    (status, format!("{msg}\n")).into_response()
}

/// `POST /roundtrip`. Takes the raw body rather than the `Json` extractor so that, like the Go
/// side, it does not insist on a `Content-Type: application/json` request header.
async fn roundtrip(body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return text(StatusCode::PAYLOAD_TOO_LARGE, "body too large")
        }
        Err(_) => return text(StatusCode::BAD_REQUEST, "could not read body"),
    };
    match json::summarize(&body) {
        Ok(summary) => (
            [(header::CONTENT_TYPE, "application/json")],
            summary.to_json(),
        )
            .into_response(),
        Err(_) => text(StatusCode::BAD_REQUEST, MALFORMED),
    }
}

/// `GET /health` and `POST /roundtrip`.
pub fn router() -> Router {
    Router::new()
        .route("/health", get(serve::health))
        .route("/roundtrip", post(roundtrip))
        .layer(DefaultBodyLimit::max(MAX_BODY_SIZE))
}
