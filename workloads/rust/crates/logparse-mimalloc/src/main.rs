//! logparse workload, mimalloc variant: the same std-only parser as the default `logparse` binary
//! (`logparse::run` with `StdSearch`), with Microsoft's mimalloc (the `mimalloc` crate, which
//! builds the C library from source) as the global allocator instead of the system malloc. Nothing
//! else differs.
//!
//! Usage: logparse-mimalloc INPUT

use std::process::ExitCode;

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() -> ExitCode {
    logparse::run::<logparse::StdSearch>("logparse-mimalloc")
}
