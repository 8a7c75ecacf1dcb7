//! json workload, jemalloc variant: the same serde_json decode and re-encode as the default `json`
//! binary (the program is its library's `json::serde_json_main`), with jemalloc (the
//! `tikv-jemallocator` crate, which builds the C library from source) as the global allocator
//! instead of the system malloc. Nothing else differs.
//!
//! Usage: json-jemalloc INPUT

use tikv_jemallocator::Jemalloc;

#[global_allocator]
static GLOBAL: Jemalloc = Jemalloc;

fn main() {
    json::serde_json_main("json-jemalloc");
}
