//! SHA-256 from the `sha2` crate behind a C ABI, for Go programs that call it through cgo: the
//! go+rust hybrid variants of the sha256 and sha256-calls workloads.
//!
//! Two shapes, as a Go caller needs them: a one-shot digest per call (many small messages) and a
//! streaming hasher behind an opaque pointer (one large buffer fed in chunks). The caller owns
//! every buffer; nothing here keeps a pointer after it returns, and nothing calls back into Go.
//! The prototypes the Go side declares are in `workloads/go/sha256-cgo/main.go`.

use sha2::{Digest, Sha256};
use std::slice;

/// Size of one SHA-256 digest in bytes.
const DIGEST_SIZE: usize = 32;

/// The `len` bytes at `data`, or an empty slice for `len == 0` (Go passes nil for an empty slice).
///
/// # Safety
/// When `len > 0`, `data` must point to `len` readable bytes that stay unchanged during the call.
unsafe fn bytes<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        slice::from_raw_parts(data, len)
    }
}

/// Writes `digest` to the 32 bytes at `out`.
///
/// # Safety
/// `out` must point to 32 writable bytes.
unsafe fn write_digest(digest: [u8; DIGEST_SIZE], out: *mut u8) {
    slice::from_raw_parts_mut(out, DIGEST_SIZE).copy_from_slice(&digest);
}

/// One-shot SHA-256 of `len` bytes at `data`, written to the 32 bytes at `out`.
///
/// # Safety
/// `data` must point to `len` readable bytes (any pointer when `len` is 0) and `out` to 32 writable
/// bytes that do not overlap them.
#[no_mangle]
pub unsafe extern "C" fn gorust_sha256(data: *const u8, len: usize, out: *mut u8) {
    write_digest(Sha256::digest(bytes(data, len)).into(), out);
}

/// A new streaming hasher; the caller must hand it to `gorust_sha256_finish` exactly once.
#[no_mangle]
pub extern "C" fn gorust_sha256_new() -> *mut Sha256 {
    Box::into_raw(Box::new(Sha256::new()))
}

/// Feeds `len` bytes at `data` to the hasher.
///
/// # Safety
/// `hasher` must come from `gorust_sha256_new` and not be finished; `data` as in `gorust_sha256`.
#[no_mangle]
pub unsafe extern "C" fn gorust_sha256_update(hasher: *mut Sha256, data: *const u8, len: usize) {
    (*hasher).update(bytes(data, len));
}

/// Writes the hasher's digest to the 32 bytes at `out` and frees the hasher.
///
/// # Safety
/// `hasher` must come from `gorust_sha256_new` and not be finished; `out` must point to 32
/// writable bytes.
#[no_mangle]
pub unsafe extern "C" fn gorust_sha256_finish(hasher: *mut Sha256, out: *mut u8) {
    write_digest(Box::from_raw(hasher).finalize().into(), out);
}
