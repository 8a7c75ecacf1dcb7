//! The sha256 workload around the hash calls, shared by the `sha256` (sha2) and `sha256-ring`
//! binaries so that both run exactly the same program with a different SHA-256 implementation.
//!
//! The input (`harness/generators/messages.py`) is: u32 N, then N times (u32 LEN, LEN bytes), then
//! u64 L and L bytes, all little-endian. Each binary's `hash_all` gives every small message its own
//! one-shot digest and feeds the large buffer to one streaming hasher in `CHUNK_SIZE` updates, as a
//! file read through a buffer would; it is the timed work. The checksum is SHA-256 (hex) of the N+1
//! digests concatenated in input order.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

/// Update size for the large buffer.
pub const CHUNK_SIZE: usize = 64 << 10;

/// Size of one SHA-256 digest in bytes.
pub const DIGEST_SIZE: usize = 32;

/// The measured work: the concatenated digests (one per small message, then the large buffer's),
/// and the seconds spent on the small messages and on the large buffer.
pub type HashAll = fn(small: &[&[u8]], large: &[u8]) -> (Vec<u8>, f64, f64);

/// Splits off the first `n` bytes, or `None` if there are fewer.
fn take(s: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (s.len() >= n).then(|| s.split_at(n))
}

/// Splits the input into the small messages and the large buffer, without copying.
pub fn parse(input: &[u8]) -> Option<(Vec<&[u8]>, &[u8])> {
    let (n, mut rest) = take(input, 4)?;
    let n = u32::from_le_bytes(n.try_into().ok()?) as usize;
    // Each message takes at least 4 bytes, which bounds the capacity if N is corrupt.
    let mut small = Vec::with_capacity(n.min(rest.len() / 4));
    for _ in 0..n {
        let (len, tail) = take(rest, 4)?;
        let (msg, tail) = take(tail, u32::from_le_bytes(len.try_into().ok()?) as usize)?;
        small.push(msg);
        rest = tail;
    }
    let (len, large) = take(rest, 8)?;
    (u64::from_le_bytes(len.try_into().ok()?) == large.len() as u64).then_some((small, large))
}

/// The whole program for the binary `name`: read and parse the input named on the command line,
/// time `hash_all` over it, and print the contract's JSON line with the checksum `sha256` of the
/// digests.
pub fn run(name: &str, hash_all: HashAll, sha256: fn(&[u8]) -> [u8; DIGEST_SIZE]) -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: {name} INPUT");
        return ExitCode::from(2);
    }
    let input = match std::fs::read(&args[1]) {
        Ok(data) => data,
        Err(err) => {
            eprintln!("{name}: {}: {err}", args[1]);
            return ExitCode::FAILURE;
        }
    };
    let Some((small, large)) = parse(&input) else {
        eprintln!("{name}: {}: bad framing", args[1]);
        return ExitCode::FAILURE;
    };
    let hashed: usize = large.len() + small.iter().map(|m| m.len()).sum::<usize>();

    // The clock covers the hashing proper, not the checksum over the digests.
    let start = Instant::now();
    let (digests, small_seconds, large_seconds) = hash_all(&small, large);
    let elapsed = start.elapsed().as_secs_f64();
    let sum = sha256(&digests);

    let hex = sum.iter().fold(String::with_capacity(64), |mut s, b| {
        write!(s, "{b:02x}").unwrap();
        s
    });
    // extra splits the time: per-call overhead dominates the small messages, the block function
    // the large buffer.
    println!(
        "{{\"checksum\":\"{hex}\",\"items\":{},\"bytes\":{hashed},\"work_seconds\":{elapsed},\
         \"extra\":{{\"small_seconds\":{small_seconds},\"large_seconds\":{large_seconds}}}}}",
        small.len() + 1
    );
    ExitCode::SUCCESS
}
