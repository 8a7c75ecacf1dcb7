//! Decompresses the shared reference stream (the input file: the corpus gzipped once by the input
//! generator with Python's zlib, the same bytes for every implementation) with flate2's
//! `GzDecoder`, compresses the corpus with `GzEncoder` at level 6, decompresses that back, and
//! checks that the round trip reproduces the corpus. The three phases together are the timed work;
//! the checksum is FNV-1a 64 of the decompressed bytes, so it equals the checksum of the corpus
//! whatever compressed bytes the backend chose.
//!
//! The `gzip-zlib-rs` crate builds this same file with flate2's zlib-rs backend.

use std::error::Error;
use std::io::{Read, Write};
use std::time::Instant;

use flate2::bufread::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

const LEVEL: u32 = 6;

fn compress(input: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(LEVEL));
    encoder.write_all(input)?;
    // finish flushes the last block and writes the CRC-32 + size trailer.
    encoder.finish()
}

fn decompress(compressed: &[u8], size_hint: usize) -> std::io::Result<Vec<u8>> {
    // A byte slice is already a BufRead, so the bufread decoder reads it without an extra copy
    // (like Go's gzip.NewReader over a bytes.Reader).
    let mut decoder = GzDecoder::new(compressed);
    // The original size is known, so the output is allocated once (the Go side does the same):
    // when the Vec is full, read_to_end probes for EOF with a small stack read instead of growing.
    let mut out = Vec::with_capacity(size_hint);
    // Reading to EOF also verifies the CRC-32 and length in the gzip trailer.
    decoder.read_to_end(&mut out)?;
    Ok(out)
}

fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf29ce484222325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3)
    })
}

/// The uncompressed size the gzip trailer states (ISIZE: the last four bytes, little endian,
/// modulo 2^32), used only to size the output buffer; reading to EOF checks it.
fn trailer_size(stream: &[u8]) -> Result<usize, String> {
    // 10-byte header + empty deflate data + 8-byte trailer.
    if stream.len() < 18 {
        return Err("input is not a gzip stream (shorter than 18 bytes)".into());
    }
    let stated: [u8; 4] = stream[stream.len() - 4..].try_into().unwrap();
    Ok(u32::from_le_bytes(stated) as usize)
}

fn run(path: &str) -> Result<(), Box<dyn Error>> {
    let reference = std::fs::read(path).map_err(|e| format!("read {path}: {e}"))?;
    let size = trailer_size(&reference).map_err(|e| format!("{path}: {e}"))?;

    let start = Instant::now();
    let input = decompress(&reference, size)
        .map_err(|e| format!("decompress the reference stream: {e}"))?;
    let ref_end = Instant::now();
    let compressed = compress(&input).map_err(|e| format!("compress: {e}"))?;
    let mid = Instant::now();
    let output = decompress(&compressed, input.len()).map_err(|e| format!("decompress: {e}"))?;
    let end = Instant::now();

    if output != input {
        return Err("round trip did not reproduce the input".into());
    }

    println!(
        "{{\"checksum\":\"{:016x}\",\"items\":1,\"bytes\":{},\"work_seconds\":{},\"extra\":{{\"reference_decompress_seconds\":{},\"compress_seconds\":{},\"decompress_seconds\":{},\"compressed_bytes\":{},\"reference_compressed_bytes\":{}}}}}",
        fnv1a64(&output),
        input.len(),
        (end - start).as_secs_f64(),
        (ref_end - start).as_secs_f64(),
        (mid - ref_end).as_secs_f64(),
        (end - mid).as_secs_f64(),
        compressed.len(),
        reference.len(),
    );
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: {} INPUT", args[0]);
        std::process::exit(2);
    }
    if let Err(e) = run(&args[1]) {
        eprintln!("{}: {e}", args[0]);
        std::process::exit(1);
    }
}
