//! logparse workload, jemalloc variant: the same parser as the default `logparse` binary
//! (`logparse::run` with `MemchrSearch`), with jemalloc (the `tikv-jemallocator` crate, which builds
//! the C library from source) as the global allocator instead of the system malloc. Nothing else
//! differs.
//!
//! Usage: logparse-jemalloc INPUT

use std::process::ExitCode;

use tikv_jemallocator::Jemalloc;

#[global_allocator]
static GLOBAL: Jemalloc = Jemalloc;

fn main() -> ExitCode {
    logparse::run::<logparse::MemchrSearch>("logparse-jemalloc")
}
