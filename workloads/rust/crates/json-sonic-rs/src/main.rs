//! json workload, sonic-rs variant: the same typed decode and re-encode as the `json` crate, with
//! sonic-rs (SIMD parsing, serde-compatible) in place of serde_json.
//!
//! Usage: json-sonic-rs INPUT

use std::time::Instant;

use json::{fail, read_input, report, Corpus};

fn main() {
    let input = read_input("json-sonic-rs");

    let start = Instant::now();
    let corpus: Corpus =
        sonic_rs::from_slice(&input).unwrap_or_else(|e| fail(&format!("decode: {e}")));
    let out = sonic_rs::to_vec(&corpus).unwrap_or_else(|e| fail(&format!("encode: {e}")));
    let elapsed = start.elapsed().as_secs_f64();

    report(&out, corpus.items(), input.len(), elapsed);
}
