//! The pipeline workload, Rust default: rayon.
//!
//! What most Rust users write to spread a loop over cores: a rayon pool of `HARNESS_CPUS` threads
//! (workloads/README.md, "CPUs and workers") and `records.par_iter().map(transform).collect()`
//! inside it. rayon splits the slice into contiguous pieces that its workers steal from each
//! other, and `collect` into a `Vec` writes each result straight into its slot, so the results
//! are in input order with no reordering step. The transform, parsing, timing and result line are
//! in the `pipeline-core` library, shared with the `pipeline-threads` variant.
//!
//! Usage: `pipeline INPUT ROUNDS`

use pipeline_core::{transform, Digest, Processed};
use rayon::prelude::*;
use std::process::ExitCode;
use std::time::Instant;

fn process(records: &[&[u8]], rounds: u32, workers: usize) -> Result<Processed, String> {
    let start = Instant::now();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .map_err(|err| format!("cannot start {workers} rayon threads: {err}"))?;
    let spawn_seconds = start.elapsed().as_secs_f64();
    let digests: Vec<Digest> = pool.install(|| {
        records
            .par_iter()
            .map(|record| transform(record, rounds))
            .collect()
    });
    Ok(Processed {
        digests,
        workers: pool.current_num_threads(),
        spawn_seconds,
    })
}

fn main() -> ExitCode {
    pipeline_core::run("pipeline", process)
}
