//! The pipeline workload around the workers, shared by the `pipeline` (rayon) and
//! `pipeline-threads` (std::thread::scope + crossbeam-channel) binaries, so that both run exactly
//! the same transform on the same records and differ only in how the records reach the workers
//! and the results come back in input order.
//!
//! The input (`harness/measure/generators/records.py`) is newline-separated text records. Each
//! record is transformed by [`transform`]: `rounds` rounds of tokenising it on spaces and hashing
//! every token (FNV-1a seeded with a running state, then a SplitMix64 finaliser), about 10 µs per
//! record at the manifest's 32 rounds (workloads/docs/pipeline.md, "The grain"). The output is one
//! 12-byte result per record in input order (the final state as u64 little-endian, then the token
//! count as u32 little-endian), and the checksum is FNV-1a 64 of those bytes. The Go program
//! (`workloads/go/pipeline`) is the same algorithm line for line.

use std::process::ExitCode;
use std::time::Instant;

/// FNV-1a 64 offset basis, also the transform's starting state.
pub const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64 prime.
pub const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// Bytes of output per record: the digest (u64 LE) and the token count (u32 LE).
pub const RESULT_BYTES: usize = 12;

/// What the transform makes of one record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digest {
    pub hash: u64,
    pub tokens: u32,
}

/// The SplitMix64 finaliser: a cheap, well-mixing bijection on u64.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The per-record work: `rounds` passes over the record, each splitting it into tokens (maximal
/// runs of bytes other than b' ') and folding every token's bytes into a running state. Each
/// token's FNV-1a hash starts from the state left by the token before it, so no pass can be
/// hoisted out of the loop or skipped; the cost is proportional to the record's length.
pub fn transform(record: &[u8], rounds: u32) -> Digest {
    let mut state = FNV_OFFSET ^ record.len() as u64;
    let mut tokens = 0u32;
    for round in 0..u64::from(rounds) {
        tokens = 0;
        let mut h = state;
        let mut in_token = false;
        for &b in record {
            if b == b' ' {
                if in_token {
                    state = mix(h ^ round);
                    tokens += 1;
                    in_token = false;
                }
            } else {
                if !in_token {
                    h = state;
                    in_token = true;
                }
                h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
            }
        }
        if in_token {
            state = mix(h ^ round);
            tokens += 1;
        }
    }
    Digest {
        hash: state,
        tokens,
    }
}

/// The records: the input split on b'\n', without the empty piece after a final newline.
pub fn records(input: &[u8]) -> Vec<&[u8]> {
    let mut records: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    if records.last().is_some_and(|r| r.is_empty()) {
        records.pop();
    }
    records
}

/// The output bytes: each digest's hash (u64 LE) and token count (u32 LE), in order.
pub fn encode(digests: &[Digest]) -> Vec<u8> {
    let mut out = Vec::with_capacity(digests.len() * RESULT_BYTES);
    for d in digests {
        out.extend_from_slice(&d.hash.to_le_bytes());
        out.extend_from_slice(&d.tokens.to_le_bytes());
    }
    out
}

/// FNV-1a 64 of `bytes` (the contract's checksum).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(FNV_OFFSET, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    })
}

/// The worker count the binary contract gives (workloads/README.md, "CPUs and workers"):
/// `HARNESS_CPUS` when set, else what `std::thread::available_parallelism` says.
pub fn workers() -> Result<usize, String> {
    match std::env::var("HARNESS_CPUS") {
        Ok(text) => match text.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("HARNESS_CPUS={text:?}: not a positive integer")),
        },
        Err(std::env::VarError::NotPresent) => Ok(std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)),
        Err(err) => Err(format!("HARNESS_CPUS: {err}")),
    }
}

/// What one binary's way of running the workers returns.
pub struct Processed {
    /// One digest per record, in input order.
    pub digests: Vec<Digest>,
    /// The workers that actually ran (the pool's own count where it has one).
    pub workers: usize,
    /// Seconds spent creating the workers (building the pool, spawning the threads), inside
    /// work_seconds; reported so the start-up cost is visible beside the total.
    pub spawn_seconds: f64,
}

/// A binary's way of spreading `records` over `workers` workers and collecting the digests in
/// input order.
pub type Process = fn(records: &[&[u8]], rounds: u32, workers: usize) -> Result<Processed, String>;

/// The whole program for the binary `name`: read the input and the rounds named on the command
/// line, time `process` plus the in-order encoding and hashing of its results, and print the
/// contract's JSON line.
pub fn run(name: &str, process: Process) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: {name} INPUT ROUNDS");
        return ExitCode::from(2);
    }
    let rounds = match args[2].parse::<u32>() {
        Ok(n) if n > 0 => n,
        _ => {
            eprintln!(
                "{name}: bad ROUNDS {:?} (want an integer in 1..4294967295)",
                args[2]
            );
            return ExitCode::from(2);
        }
    };
    let workers = match workers() {
        Ok(n) => n,
        Err(err) => {
            eprintln!("{name}: {err}");
            return ExitCode::from(2);
        }
    };
    let input = match std::fs::read(&args[1]) {
        Ok(data) => data,
        Err(err) => {
            eprintln!("{name}: {}: {err}", args[1]);
            return ExitCode::FAILURE;
        }
    };
    let records = records(&input);

    // The clock covers creating the workers, the transform of every record, putting the results
    // in input order, encoding them and hashing the output: the whole fan-out/fan-in.
    let start = Instant::now();
    let processed = match process(&records, rounds, workers) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("{name}: {err}");
            return ExitCode::FAILURE;
        }
    };
    let sum = fnv1a(&encode(&processed.digests));
    let elapsed = start.elapsed().as_secs_f64();

    println!(
        "{{\"checksum\":\"{sum:016x}\",\"items\":{},\"bytes\":{},\"work_seconds\":{elapsed},\
         \"extra\":{{\"workers\":{},\"spawn_seconds\":{}}}}}",
        records.len(),
        input.len(),
        processed.workers,
        processed.spawn_seconds
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_drop_only_the_piece_after_a_final_newline() {
        assert_eq!(records(b"a b\nc\n"), vec![&b"a b"[..], &b"c"[..]]);
        assert_eq!(records(b"a b\nc"), vec![&b"a b"[..], &b"c"[..]]);
        assert_eq!(records(b"a\n\nb\n"), vec![&b"a"[..], &b""[..], &b"b"[..]]);
        assert!(records(b"").is_empty());
    }

    #[test]
    fn transform_counts_tokens_and_ignores_runs_of_spaces() {
        assert_eq!(transform(b"  ab  c ", 3).tokens, 2);
        assert_eq!(
            transform(b"", 3),
            Digest {
                hash: FNV_OFFSET,
                tokens: 0
            }
        );
        // Spaces change the record's length, and so the starting state: not the same digest.
        assert_ne!(transform(b"ab c", 2).hash, transform(b"ab  c", 2).hash);
        assert_ne!(transform(b"ab c", 1).hash, transform(b"ab c", 2).hash);
    }

    #[test]
    fn transform_matches_the_shared_vectors() {
        // The same vectors as the Go program's transform_test.go, computed by an independent
        // Python transcription of the algorithm: a change on one side only fails here or there.
        let vectors: [(&[u8], u32, u64, u32); 3] = [
            (b"the quick brown fox", 1, 0xc8ab1653b62fb674, 4),
            (b"the quick brown fox", 16, 0xa2b687076a182857, 4),
            (b"  ab  c ", 3, 0x49b93bbc15054e0a, 2),
        ];
        for (record, rounds, hash, tokens) in vectors {
            assert_eq!(transform(record, rounds), Digest { hash, tokens });
        }
    }

    #[test]
    fn fnv1a_matches_the_published_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a(b"a"), 0xaf63dc4c8601ec8c);
    }
}
