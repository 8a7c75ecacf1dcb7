//! json workload, mimalloc variant: the same serde_json decode and re-encode as the default `json`
//! binary (the program is its library's `json::serde_json_main`), with Microsoft's mimalloc (the
//! `mimalloc` crate, which builds the C library from source) as the global allocator instead of the
//! system malloc. Nothing else differs.
//!
//! Usage: json-mimalloc INPUT

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() {
    json::serde_json_main("json-mimalloc");
}
