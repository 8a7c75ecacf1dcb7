//! Benchmarks Game binary-trees workload, single-threaded.
//!
//! Allocates a "stretch" tree of depth max+1, a long-lived tree of depth max, and then for each
//! depth d in 4, 6, ..., max builds and walks 2^(max-d+4) short-lived trees. Every node is its own
//! `Box` from the global allocator, freed when the tree is dropped: no arena, no pool. That is the
//! straightforward Rust counterpart of Go's `new(Node)` + GC.
//!
//! The whole program lives in this library so that the allocator variants
//! (`binarytrees-mimalloc`, `binarytrees-jemalloc`) run exactly the same code: each is a `main`
//! that calls [`main`] with another `#[global_allocator]`. The default binary keeps the system
//! malloc.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

const MIN_DEPTH: u32 = 4;

/// A tree node; a leaf has both children `None`.
struct Node {
    left: Option<Box<Node>>,
    right: Option<Box<Node>>,
}

/// Builds a perfect binary tree of the given depth.
fn bottom_up(depth: u32) -> Box<Node> {
    if depth == 0 {
        return Box::new(Node {
            left: None,
            right: None,
        });
    }
    Box::new(Node {
        left: Some(bottom_up(depth - 1)),
        right: Some(bottom_up(depth - 1)),
    })
}

impl Node {
    /// Walks the tree and returns its node count.
    fn check(&self) -> u64 {
        match (&self.left, &self.right) {
            (Some(l), Some(r)) => 1 + l.check() + r.check(),
            _ => 1,
        }
    }
}

/// Runs the whole benchmark, appending the classic text to `out`; returns the number of trees
/// allocated.
fn run(max_depth: u32, out: &mut String) -> u64 {
    let max_depth = max_depth.max(MIN_DEPTH + 2);
    let mut trees = 0;

    let stretch_depth = max_depth + 1;
    let check = bottom_up(stretch_depth).check();
    writeln!(
        out,
        "stretch tree of depth {stretch_depth}\t check: {check}"
    )
    .unwrap();
    trees += 1;

    let long_lived = bottom_up(max_depth);
    trees += 1;

    for d in (MIN_DEPTH..=max_depth).step_by(2) {
        let iterations: u64 = 1 << (max_depth - d + MIN_DEPTH);
        // Each tree is dropped (and its nodes freed) right after it is checked.
        let check: u64 = (0..iterations).map(|_| bottom_up(d).check()).sum();
        trees += iterations;
        writeln!(out, "{iterations}\t trees of depth {d}\t check: {check}").unwrap();
    }

    let check = long_lived.check();
    writeln!(out, "long lived tree of depth {max_depth}\t check: {check}").unwrap();
    trees
}

/// FNV-1a 64 over `data`.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The whole program: parses `MAX_DEPTH` from the command line, runs the benchmark, prints the
/// classic text and then the contract's JSON line. `program` names the binary in error messages.
pub fn main(program: &str) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: {program} MAX_DEPTH");
        return ExitCode::from(2);
    }
    let max_depth = match args[1].parse::<u32>() {
        Ok(d) if d <= 30 => d,
        _ => {
            eprintln!(
                "{program}: bad MAX_DEPTH {:?} (want an integer in 0..30)",
                args[1]
            );
            return ExitCode::from(2);
        }
    };

    let mut out = String::new();
    let start = Instant::now();
    let trees = run(max_depth, &mut out);
    let sum = fnv1a64(out.as_bytes());
    let elapsed = start.elapsed().as_secs_f64();

    // The classic text first, then the contract's JSON object as the last line.
    print!("{out}");
    println!(
        "{{\"checksum\":\"{sum:016x}\",\"items\":{trees},\"bytes\":0,\"work_seconds\":{elapsed}}}"
    );
    ExitCode::SUCCESS
}
