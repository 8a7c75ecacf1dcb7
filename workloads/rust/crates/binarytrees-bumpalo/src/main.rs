//! Benchmarks Game binary-trees workload, single-threaded, arena variant.
//!
//! Same algorithm and output as the default `binarytrees` crate, but each tree's nodes are
//! bump-allocated in a `bumpalo::Bump` arena and the whole tree is freed at once by resetting (or
//! dropping) the arena, instead of one `Box` allocation and one free per node. Nodes are still
//! allocated one by one, and every node is still built and walked: only allocation bookkeeping
//! and freeing change. This is how the fastest Rust entries of the Benchmarks Game do it (minus
//! their threads).
//!
//! Usage: binarytrees-bumpalo MAX_DEPTH

use bumpalo::Bump;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

const MIN_DEPTH: u32 = 4;

/// A tree node borrowed from an arena; a leaf has both children `None`.
struct Node<'a> {
    left: Option<&'a Node<'a>>,
    right: Option<&'a Node<'a>>,
}

/// Builds a perfect binary tree of the given depth inside `arena`.
fn bottom_up(arena: &Bump, depth: u32) -> &Node<'_> {
    if depth == 0 {
        return arena.alloc(Node {
            left: None,
            right: None,
        });
    }
    let left = bottom_up(arena, depth - 1);
    let right = bottom_up(arena, depth - 1);
    arena.alloc(Node {
        left: Some(left),
        right: Some(right),
    })
}

impl Node<'_> {
    /// Walks the tree and returns its node count.
    fn check(&self) -> u64 {
        match (self.left, self.right) {
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
    let check = {
        // The stretch tree's arena is freed at the end of this block.
        let arena = Bump::new();
        bottom_up(&arena, stretch_depth).check()
    };
    writeln!(
        out,
        "stretch tree of depth {stretch_depth}\t check: {check}"
    )
    .unwrap();
    trees += 1;

    let long_lived_arena = Bump::new();
    let long_lived = bottom_up(&long_lived_arena, max_depth);
    trees += 1;

    // One arena reused for all short-lived trees: reset() frees a tree in O(1) and keeps the
    // arena's largest chunk, so after the first tree no memory is requested from the system.
    let mut arena = Bump::new();
    for d in (MIN_DEPTH..=max_depth).step_by(2) {
        let iterations: u64 = 1 << (max_depth - d + MIN_DEPTH);
        let mut check = 0;
        for _ in 0..iterations {
            check += bottom_up(&arena, d).check();
            arena.reset();
        }
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

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: binarytrees-bumpalo MAX_DEPTH");
        return ExitCode::from(2);
    }
    let max_depth = match args[1].parse::<u32>() {
        Ok(d) if d <= 30 => d,
        _ => {
            eprintln!(
                "binarytrees-bumpalo: bad MAX_DEPTH {:?} (want an integer in 0..30)",
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
