//! binarytrees workload, jemalloc variant: the same `Box<Node>` trees as the default `binarytrees`
//! binary (the program is its library's `binarytrees::main`), with jemalloc (the
//! `tikv-jemallocator` crate, which builds the C library from source) as the global allocator
//! instead of the system malloc. Nothing else differs.
//!
//! Usage: binarytrees-jemalloc MAX_DEPTH

use std::process::ExitCode;

use tikv_jemallocator::Jemalloc;

#[global_allocator]
static GLOBAL: Jemalloc = Jemalloc;

fn main() -> ExitCode {
    binarytrees::main("binarytrees-jemalloc")
}
