//! json workload, default Rust implementation: decode a corpus of tweets and GeoJSON polygons
//! into typed structs with serde_json, re-encode the whole corpus, print the FNV-1a 64 checksum
//! of the output. The program is `json::serde_json_main` in the library (src/lib.rs), shared with
//! the allocator variants; the default binary keeps the system malloc.
//!
//! Usage: json INPUT

fn main() {
    json::serde_json_main("json");
}
