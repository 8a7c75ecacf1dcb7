//! A workload pair made by `harness new`: counts the words of every input line, a placeholder for
//! your own code. Replace `work` and keep `main`: it reads the input, times the work alone and
//! prints the one result line the harness reads.
//!
//! Usage: `__NAME__ INPUT`

use std::process::ExitCode;
use std::time::Instant;

/// The code being measured: paste yours here. It returns the output, whose FNV-1a 64 is the
/// checksum (the Go side must produce the same bytes), and the number of items processed.
fn work(input: &[u8]) -> (Vec<u8>, u64) {
    let mut output = Vec::new();
    let mut items = 0;
    for line in input.split_inclusive(|&b| b == b'\n') {
        let words = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|word| !word.is_empty())
            .count();
        output.extend_from_slice(words.to_string().as_bytes());
        output.push(b'\n');
        items += 1;
    }
    (output, items)
}

/// FNV-1a 64, as Go's hash/fnv New64a.
fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 2 {
        eprintln!("usage: __NAME__ INPUT");
        return ExitCode::from(2);
    }
    let input = match std::fs::read(&args[1]) {
        Ok(data) => data,
        Err(err) => {
            eprintln!("__NAME__: {}: {err}", args[1]);
            return ExitCode::FAILURE;
        }
    };

    // The clock covers the work proper: not reading the input, not the checksum.
    let start = Instant::now();
    let (output, items) = work(&input);
    let elapsed = start.elapsed().as_secs_f64();

    println!(
        "{{\"checksum\":\"{:016x}\",\"items\":{items},\"bytes\":{},\"work_seconds\":{elapsed}}}",
        fnv1a64(&output),
        input.len()
    );
    ExitCode::SUCCESS
}
