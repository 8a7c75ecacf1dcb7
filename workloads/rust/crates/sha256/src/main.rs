//! Hashes many small messages one by one and one large buffer as a stream, with the `sha2` crate.
//!
//! Every small message gets its own one-shot `Sha256::digest`; the large buffer goes through one
//! `Sha256::new()` hasher in 64 KiB updates, as a file read through a buffer would. The checksum is
//! SHA-256 (hex) of the N+1 digests concatenated in input order. Input framing, timing and the
//! result line are in the `sha256-driver` library, shared with the `sha256-ring` variant.
//!
//! Usage: `sha256 INPUT`

use sha2::{Digest, Sha256};
use sha256_driver::{CHUNK_SIZE, DIGEST_SIZE};
use std::process::ExitCode;
use std::time::Instant;

/// The concatenated digests (one per small message, then the large buffer's), and the seconds
/// spent on the small messages and on the large buffer.
fn hash_all(small: &[&[u8]], large: &[u8]) -> (Vec<u8>, f64, f64) {
    let start = Instant::now();
    let mut digests = Vec::with_capacity((small.len() + 1) * DIGEST_SIZE);
    for msg in small {
        digests.extend_from_slice(&Sha256::digest(msg));
    }
    let small_done = Instant::now();
    let mut hasher = Sha256::new();
    for chunk in large.chunks(CHUNK_SIZE) {
        hasher.update(chunk);
    }
    digests.extend_from_slice(&hasher.finalize());
    let small_seconds = (small_done - start).as_secs_f64();
    (digests, small_seconds, small_done.elapsed().as_secs_f64())
}

fn main() -> ExitCode {
    sha256_driver::run("sha256", hash_all, |data| Sha256::digest(data).into())
}
