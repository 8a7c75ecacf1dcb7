//! json workload, simd-json variant: the same typed decode and re-encode as the `json` crate, with
//! simd-json's serde support (a Rust port of simdjson) in place of serde_json.
//!
//! Usage: json-simd-json INPUT

use std::time::Instant;

use json::{fail, read_input, report, Corpus};

fn main() {
    // simd-json parses in place (it unescapes strings inside the buffer), so it takes `&mut [u8]`;
    // the input Vec is ours anyway, so no copy is needed.
    let mut input = read_input("json-simd-json");
    let input_len = input.len();

    let start = Instant::now();
    let corpus: Corpus =
        simd_json::serde::from_slice(&mut input).unwrap_or_else(|e| fail(&format!("decode: {e}")));
    let out = simd_json::serde::to_vec(&corpus).unwrap_or_else(|e| fail(&format!("encode: {e}")));
    let elapsed = start.elapsed().as_secs_f64();

    report(&out, corpus.items(), input_len, elapsed);
}
