//! logparse workload, std variant: the same parsing rules as the default `logparse` binary, with
//! the standard library's element-by-element `Iterator::position` in place of the memchr crate's
//! SIMD byte search. Rust's standard library has no public SIMD byte search for `&[u8]`, so this
//! variant shows what "standard library only" costs here (workloads/docs/logparse.md).
//!
//! Usage: `logparse-std INPUT`

use std::process::ExitCode;

fn main() -> ExitCode {
    logparse::run::<logparse::StdSearch>("logparse-std")
}
