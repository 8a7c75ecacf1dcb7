//! The pipeline workload in Go's shape: scoped OS threads and channels.
//!
//! The Go program's structure, line for line in Rust: a producer thread sends (index, record) on a
//! bounded job channel, `HARNESS_CPUS` worker threads (workloads/README.md, "CPUs and workers")
//! receive from it, transform, and send (index, digest) on a bounded result channel, and the main
//! thread, the collector, stores each digest at its index. The threads are `std::thread::scope`
//! threads, so they borrow the records without copying or `Arc`, and the scope joins them all
//! before it returns. The channels are crossbeam-channel's, a multi-consumer queue the workers
//! share as Go's goroutines share one channel. The transform, parsing, timing and result line are
//! in the `pipeline-core` library, shared with the rayon default.
//!
//! Usage: `pipeline-threads INPUT ROUNDS`

use crossbeam_channel::bounded;
use pipeline_core::{transform, Digest, Processed};
use std::process::ExitCode;
use std::thread;
use std::time::Instant;

/// Capacity of each channel, the same as the Go program's `chanBuffer`: the producer and the
/// collector can run this far ahead of the workers without a rendezvous per item.
const CHANNEL_CAPACITY: usize = 256;

fn process(records: &[&[u8]], rounds: u32, workers: usize) -> Result<Processed, String> {
    let start = Instant::now();
    let (job_tx, job_rx) = bounded::<(usize, &[u8])>(CHANNEL_CAPACITY);
    let (result_tx, result_rx) = bounded::<(usize, Digest)>(CHANNEL_CAPACITY);
    Ok(thread::scope(|s| {
        s.spawn(move || {
            for (index, &record) in records.iter().enumerate() {
                if job_tx.send((index, record)).is_err() {
                    break; // every worker is gone: nothing left to feed
                }
            }
        });
        for _ in 0..workers {
            let jobs = job_rx.clone();
            let results = result_tx.clone();
            s.spawn(move || {
                for (index, record) in jobs {
                    if results.send((index, transform(record, rounds))).is_err() {
                        break;
                    }
                }
            });
        }
        // Only the threads hold the channels now: the result channel closes when the last
        // worker finishes, which ends the collector's loop.
        drop(job_rx);
        drop(result_tx);
        let spawn_seconds = start.elapsed().as_secs_f64();
        let mut digests = vec![Digest::default(); records.len()];
        for (index, digest) in result_rx {
            digests[index] = digest;
        }
        Processed {
            digests,
            workers,
            spawn_seconds,
        }
    }))
}

fn main() -> ExitCode {
    pipeline_core::run("pipeline-threads", process)
}
