//! logparse workload, memchr variant: the same parsing rules as the `logparse` crate, with the
//! memchr crate's SIMD byte search in place of the standard library's element-by-element
//! `Iterator::position`. Go's `bytes.IndexByte` is SIMD assembly, so this variant shows how much of
//! the gap is the search routine alone.
//!
//! Usage: `logparse-memchr INPUT`

use std::process::ExitCode;

use logparse::ByteSearch;

struct MemchrSearch;

impl ByteSearch for MemchrSearch {
    fn find(needle: u8, haystack: &[u8]) -> Option<usize> {
        memchr::memchr(needle, haystack)
    }
}

fn main() -> ExitCode {
    logparse::run::<MemchrSearch>("logparse-memchr")
}
