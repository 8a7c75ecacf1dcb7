//! The json workload's work, decoding the corpus into [`json::Corpus`] with serde_json and
//! re-encoding it, behind a C ABI, for the go+rust hybrid (`workloads/go/json-cgo`): the Go
//! program hands over the input bytes in one call and reads the encoded output from Rust's memory.
//!
//! The result stays on the Rust side behind an opaque pointer until `gorust_json_free`, so the Go
//! side can stop its clock before the corpus is dropped, as the pure Rust program does. Nothing
//! here keeps a pointer to Go memory after it returns, and nothing calls back into Go. The
//! prototypes the Go side declares are in `workloads/go/internal/rustjson`.

use json::Corpus;
use std::ptr;
use std::slice;

/// The decoded corpus and its encoding, owned by Rust until `gorust_json_free`.
pub struct Roundtrip {
    corpus: Corpus,
    out: Vec<u8>,
}

/// Decodes the `len` bytes at `input` and re-encodes the corpus; null when either step fails
/// (malformed or mistyped JSON).
///
/// # Safety
/// `input` must point to `len` readable bytes (any pointer when `len` is 0) that stay unchanged
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn gorust_json_roundtrip(input: *const u8, len: usize) -> *mut Roundtrip {
    let input = if len == 0 {
        &[][..]
    } else {
        slice::from_raw_parts(input, len)
    };
    let Ok(corpus) = serde_json::from_slice::<Corpus>(input) else {
        return ptr::null_mut();
    };
    match serde_json::to_vec(&corpus) {
        Ok(out) => Box::into_raw(Box::new(Roundtrip { corpus, out })),
        Err(_) => ptr::null_mut(),
    }
}

/// The encoded output: its address, with its length written to `len`. Valid until
/// `gorust_json_free`.
///
/// # Safety
/// `roundtrip` must come from `gorust_json_roundtrip` and not be freed; `len` must be writable.
#[no_mangle]
pub unsafe extern "C" fn gorust_json_output(
    roundtrip: *const Roundtrip,
    len: *mut usize,
) -> *const u8 {
    let out = &(*roundtrip).out;
    *len = out.len();
    out.as_ptr()
}

/// Documents in the corpus: tweets plus geometry features.
///
/// # Safety
/// `roundtrip` must come from `gorust_json_roundtrip` and not be freed.
#[no_mangle]
pub unsafe extern "C" fn gorust_json_items(roundtrip: *const Roundtrip) -> usize {
    (*roundtrip).corpus.items()
}

/// Drops the corpus and the output.
///
/// # Safety
/// `roundtrip` must come from `gorust_json_roundtrip` and not be freed already.
#[no_mangle]
pub unsafe extern "C" fn gorust_json_free(roundtrip: *mut Roundtrip) {
    drop(Box::from_raw(roundtrip));
}
