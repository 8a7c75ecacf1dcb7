//! Compresses the whole input in memory with flate2's `GzEncoder` at level 6, decompresses it back
//! with `GzDecoder`, and checks that the round trip reproduces the input. Both phases together are
//! the timed work; the checksum is FNV-1a 64 of the decompressed bytes, so it equals the checksum of
//! the input whatever compressed bytes the backend chose.
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
    // The original size is known, so the output is allocated once (the Go side does the same).
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

fn run(path: &str) -> Result<(), Box<dyn Error>> {
    let input = std::fs::read(path).map_err(|e| format!("read {path}: {e}"))?;

    let start = Instant::now();
    let compressed = compress(&input).map_err(|e| format!("compress: {e}"))?;
    let mid = Instant::now();
    let output = decompress(&compressed, input.len()).map_err(|e| format!("decompress: {e}"))?;
    let end = Instant::now();

    if output != input {
        return Err("round trip did not reproduce the input".into());
    }

    println!(
        "{{\"checksum\":\"{:016x}\",\"items\":1,\"bytes\":{},\"work_seconds\":{},\"extra\":{{\"compress_seconds\":{},\"decompress_seconds\":{},\"compressed_bytes\":{}}}}}",
        fnv1a64(&output),
        input.len(),
        (end - start).as_secs_f64(),
        (mid - start).as_secs_f64(),
        (end - mid).as_secs_f64(),
        compressed.len(),
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
