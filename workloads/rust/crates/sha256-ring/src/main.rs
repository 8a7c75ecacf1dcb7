//! Hashes many small messages one by one and one large buffer as a stream, with `ring::digest`.
//!
//! The same program as `crates/sha256` with ring in place of sha2; ring's SHA-256 block function
//! is assembly from BoringSSL/OpenSSL, so this variant measures that code, not Rust.
//!
//! The input (`harness/generators/messages.py`) is: u32 N, then N times (u32 LEN, LEN bytes), then
//! u64 L and L bytes, all little-endian. Every small message gets its own one-shot
//! `digest(&SHA256, ..)`; the large buffer goes through one `Context::new(&SHA256)` in 64 KiB updates, as
//! a file read through a buffer would. The checksum is SHA-256 (hex) of the N+1 digests
//! concatenated in input order.
//!
//! Usage: `sha256-ring INPUT`

use ring::digest::{digest, Context, SHA256};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Instant;

/// Update size for the large buffer.
const CHUNK_SIZE: usize = 64 << 10;

/// Size of one SHA-256 digest in bytes.
const DIGEST_SIZE: usize = 32;

/// Splits off the first `n` bytes, or `None` if there are fewer.
fn take(s: &[u8], n: usize) -> Option<(&[u8], &[u8])> {
    (s.len() >= n).then(|| s.split_at(n))
}

/// Splits the input into the small messages and the large buffer, without copying.
fn parse(input: &[u8]) -> Option<(Vec<&[u8]>, &[u8])> {
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

/// The concatenated digests (one per small message, then the large buffer's), and the seconds
/// spent on the small messages and on the large buffer.
fn hash_all(small: &[&[u8]], large: &[u8]) -> (Vec<u8>, f64, f64) {
    let start = Instant::now();
    let mut digests = Vec::with_capacity((small.len() + 1) * DIGEST_SIZE);
    for msg in small {
        digests.extend_from_slice(digest(&SHA256, msg).as_ref());
    }
    let small_done = Instant::now();
    let mut hasher = Context::new(&SHA256);
    for chunk in large.chunks(CHUNK_SIZE) {
        hasher.update(chunk);
    }
    digests.extend_from_slice(hasher.finish().as_ref());
    let small_seconds = (small_done - start).as_secs_f64();
    (digests, small_seconds, small_done.elapsed().as_secs_f64())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: sha256-ring INPUT");
        return ExitCode::from(2);
    }
    let input = match std::fs::read(&args[1]) {
        Ok(data) => data,
        Err(err) => {
            eprintln!("sha256-ring: {}: {err}", args[1]);
            return ExitCode::FAILURE;
        }
    };
    let Some((small, large)) = parse(&input) else {
        eprintln!("sha256-ring: {}: bad framing", args[1]);
        return ExitCode::FAILURE;
    };
    let hashed: usize = large.len() + small.iter().map(|m| m.len()).sum::<usize>();

    // The clock covers the hashing proper, not the checksum over the digests.
    let start = Instant::now();
    let (digests, small_seconds, large_seconds) = hash_all(&small, large);
    let elapsed = start.elapsed().as_secs_f64();
    let sum = digest(&SHA256, &digests);

    let hex = sum
        .as_ref()
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
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
