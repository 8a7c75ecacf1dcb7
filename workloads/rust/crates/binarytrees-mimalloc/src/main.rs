//! binarytrees workload, mimalloc variant: the same `Box<Node>` trees as the default `binarytrees`
//! binary (the program is its library's `binarytrees::main`), with Microsoft's mimalloc (the
//! `mimalloc` crate, which builds the C library from source) as the global allocator instead of the
//! system malloc. Nothing else differs.
//!
//! Usage: binarytrees-mimalloc MAX_DEPTH

use std::process::ExitCode;

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() -> ExitCode {
    binarytrees::main("binarytrees-mimalloc")
}
