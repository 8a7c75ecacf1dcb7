//! logparse workload, default implementation: byte-level parsing of a Combined Log Format access
//! log with the standard library only (see the library docs for the rules).
//!
//! Usage: `logparse INPUT`

use std::process::ExitCode;

fn main() -> ExitCode {
    logparse::run::<logparse::StdSearch>("logparse")
}
