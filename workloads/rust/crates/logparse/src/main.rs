//! logparse workload, default implementation: byte-level parsing of a Combined Log Format access
//! log, with the memchr crate's byte search (the crate Rust users reach for when byte search
//! matters, as Go's default reaches for `bytes.IndexByte`; see the library docs for the rules).
//!
//! Usage: `logparse INPUT`

use std::process::ExitCode;

fn main() -> ExitCode {
    logparse::run::<logparse::MemchrSearch>("logparse")
}
