//! Hashes many small messages one by one and one large buffer as a stream, with `ring::digest`.
//!
//! The same program as `crates/sha256` with ring in place of sha2; ring's SHA-256 block function
//! is assembly from BoringSSL/OpenSSL, so this variant measures that code, not Rust.
//!
//! Every small message gets its own one-shot `digest(&SHA256, ..)`; the large buffer goes through
//! one `Context::new(&SHA256)` in 64 KiB updates, as a file read through a buffer would. The
//! checksum is SHA-256 (hex) of the N+1 digests concatenated in input order. Input framing, timing
//! and the result line are in the `sha256-driver` library, shared with the default `sha256`.
//!
//! Usage: `sha256-ring INPUT`

use ring::digest::{digest, Context, SHA256};
use sha256_driver::{CHUNK_SIZE, DIGEST_SIZE};
use std::process::ExitCode;
use std::time::Instant;

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
    sha256_driver::run("sha256-ring", hash_all, |data| {
        digest(&SHA256, data)
            .as_ref()
            .try_into()
            .expect("a SHA-256 digest is 32 bytes")
    })
}
