//! The regression-gate benchmark's own workload (benchmarks/test_gate.py): the same algorithm as
//! the Go program. A buffer of SIZE bytes from a xorshift generator, hashed with 64-bit FNV-1a
//! `PASSES` times, every pass checked against the first, so the work is proportional to `PASSES`.
//!
//! Usage: passes SIZE
use std::process::exit;
use std::time::Instant;

const PASSES: u64 = 100;

fn fnv1a(buf: &[u8]) -> u64 {
    let mut h: u64 = 14695981039346656037;
    for &b in buf {
        h ^= u64::from(b);
        h = h.wrapping_mul(1099511628211);
    }
    h
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: passes SIZE");
        exit(2);
    }
    let size: usize = match args[1].parse() {
        Ok(n) if n >= 1 => n,
        _ => {
            eprintln!("passes: bad SIZE {:?}", args[1]);
            exit(2);
        }
    };
    let start = Instant::now();
    let mut buf = vec![0u8; size];
    let mut x: u64 = 88172645463325252;
    for b in buf.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let first = fnv1a(&buf);
    for _ in 1..PASSES {
        if fnv1a(std::hint::black_box(&buf)) != first {
            eprintln!("passes: a pass disagreed with the first");
            exit(1);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{{\"checksum\":\"{:016x}\",\"items\":{},\"bytes\":{},\"work_seconds\":{}}}",
        first,
        PASSES,
        PASSES * size as u64,
        elapsed
    );
}
