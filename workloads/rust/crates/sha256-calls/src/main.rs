//! The per-call cost of SHA-256 at several call grains, in pure Rust with the `sha2` crate: the
//! Rust-only side of the sha256-calls micro-sweep (workloads/docs/sha256-calls.md).
//!
//! For each grain G (bytes per call) the input buffer is cut into `len / G` consecutive messages
//! of G bytes, each hashed with its own one-shot `Sha256::digest`, and the digests are XOR-folded
//! into 32 bytes, so every call's result is used and the check stays cheap. Each grain is timed
//! on its own, by the wall clock and by the process's CPU time (getrusage), which other load on
//! a shared CPU does not inflate. The checksum is SHA-256 (hex) of the folds, one per grain in the
//! order given.
//!
//! Usage: `sha256-calls INPUT GRAINS` (GRAINS: comma-separated byte counts, e.g. `16,64,4096`)

use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

/// Size of one SHA-256 digest in bytes.
const DIGEST_SIZE: usize = 32;

/// User + system CPU seconds of this process so far (getrusage, microsecond resolution).
fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the rusage it is given; RUSAGE_SELF cannot fail on Linux, and a
    // zeroed rusage is a valid value should it.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The grains of `text`: positive byte counts no larger than the input, each once.
fn parse_grains(text: &str, input_len: usize) -> Result<Vec<usize>, String> {
    let mut grains = Vec::new();
    for part in text.split(',') {
        let grain: usize = part
            .trim()
            .parse()
            .map_err(|_| format!("grain {part:?} is not a byte count"))?;
        if grain == 0 || grain > input_len || grains.contains(&grain) {
            return Err(format!(
                "grain {grain} must be in 1..={input_len} (the input size) and given once"
            ));
        }
        grains.push(grain);
    }
    Ok(grains)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: sha256-calls INPUT GRAINS");
        return ExitCode::from(2);
    }
    let input = match std::fs::read(&args[1]) {
        Ok(data) => data,
        Err(err) => {
            eprintln!("sha256-calls: {}: {err}", args[1]);
            return ExitCode::FAILURE;
        }
    };
    let grains = match parse_grains(&args[2], input.len()) {
        Ok(grains) => grains,
        Err(err) => {
            eprintln!("sha256-calls: GRAINS {:?}: {err}", args[2]);
            return ExitCode::from(2);
        }
    };

    let mut folds = Vec::with_capacity(grains.len() * DIGEST_SIZE);
    let mut extra = String::new();
    let (mut calls_total, mut bytes_total, mut work_seconds) = (0usize, 0usize, 0.0f64);
    for &grain in &grains {
        let calls = input.len() / grain;
        let mut fold = [0u8; DIGEST_SIZE];
        let cpu_start = cpu_seconds();
        let start = Instant::now();
        for message in input[..calls * grain].chunks_exact(grain) {
            let digest: [u8; DIGEST_SIZE] = Sha256::digest(message).into();
            fold.iter_mut().zip(digest).for_each(|(f, d)| *f ^= d);
        }
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu_start;
        folds.extend_from_slice(&fold);
        calls_total += calls;
        bytes_total += calls * grain;
        work_seconds += seconds;
        let sep = if extra.is_empty() { "" } else { "," };
        write!(
            extra,
            "{sep}\"g{grain}_seconds\":{seconds},\"g{grain}_cpu_seconds\":{cpu},\
             \"g{grain}_calls\":{calls}"
        )
        .unwrap();
    }
    let checksum = Sha256::digest(&folds)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            write!(s, "{b:02x}").unwrap();
            s
        });
    println!(
        "{{\"checksum\":\"{checksum}\",\"items\":{calls_total},\"bytes\":{bytes_total},\
         \"work_seconds\":{work_seconds},\"extra\":{{{extra}}}}}"
    );
    ExitCode::SUCCESS
}
