//! logparse workload, mimalloc variant: the same parser as the default `logparse` binary
//! (`logparse::run` with `MemchrSearch`), with Microsoft's mimalloc (the `mimalloc` crate, which
//! builds the C library from source) as the global allocator instead of the system malloc. Nothing
//! else differs.
//!
//! Usage: logparse-mimalloc INPUT

use std::process::ExitCode;

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() -> ExitCode {
    logparse::run::<logparse::MemchrSearch>("logparse-mimalloc")
}
