//! binarytrees workload, default Rust implementation: `Box<Node>` trees from the global allocator,
//! which is the system malloc (glibc) here. The program itself is in the library (src/lib.rs).
//!
//! Usage: binarytrees MAX_DEPTH

use std::process::ExitCode;

fn main() -> ExitCode {
    binarytrees::main("binarytrees")
}
