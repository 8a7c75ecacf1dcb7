//! json workload, default Rust implementation: decode a corpus of tweets and GeoJSON polygons
//! into typed structs with serde_json, re-encode the whole corpus, print the FNV-1a 64 checksum
//! of the output.
//!
//! Usage: json INPUT

use std::time::Instant;

use json::{fail, read_input, report, Corpus};

fn main() {
    let input = read_input("json");

    let start = Instant::now();
    let corpus: Corpus =
        serde_json::from_slice(&input).unwrap_or_else(|e| fail(&format!("decode: {e}")));
    let out = serde_json::to_vec(&corpus).unwrap_or_else(|e| fail(&format!("encode: {e}")));
    let elapsed = start.elapsed().as_secs_f64();

    report(&out, corpus.items(), input.len(), elapsed);
}
