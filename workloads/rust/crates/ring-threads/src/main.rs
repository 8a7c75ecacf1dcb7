//! ring workload, Rust `threads` variant: a token passed round a ring of K OS threads M times over
//! `crossbeam_channel::bounded(0)` channels.
//!
//! Thread i receives the token from channel i, folds its index into it (`ring_driver::fold`) and
//! sends it on channel (i+1) mod K. A zero-capacity crossbeam channel is a rendezvous, like Go's
//! unbuffered channel: a send completes only when a receiver takes the value. There is one thread
//! per ring member (std::thread::scope), not a pool: the kernel schedules the K threads on the CPUs
//! the harness gave, so the program reports no `workers` (workloads/docs/ring.md). The main thread
//! injects the token into channel 0 and takes it back from a separate channel after the K*M-th hop.
//!
//! Usage: ring-threads TASKS LAPS

use std::process::ExitCode;
use std::time::Instant;

use crossbeam_channel::{bounded, Receiver, Sender};

/// Ring member `index`: forwards the token `laps` times, the last time on `last`. A closed channel
/// (only when the ring is torn down after a thread could not be spawned) ends it quietly.
fn member(index: u64, laps: u64, input: Receiver<u64>, out: Sender<u64>, last: Sender<u64>) {
    for _ in 1..laps {
        let Ok(token) = input.recv() else { return };
        if out.send(ring_driver::fold(token, index)).is_err() {
            return;
        }
    }
    if let Ok(token) = input.recv() {
        let _ = last.send(ring_driver::fold(token, index));
    }
}

/// Spawns the ring's threads and passes the token round; `None` when a thread could not be
/// spawned (an error already printed). Every sender the ring's threads do not own lives in here,
/// so on that error they are dropped, the spawned threads see their channels close and end, and
/// the scope's join returns instead of waiting forever.
fn run(ring: ring_driver::Ring) -> Option<(u64, f64)> {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..ring.tasks).map(|_| bounded(0)).unzip();
    let (done_tx, done_rx) = bounded(0);
    std::thread::scope(move |scope| {
        for (i, input) in receivers.into_iter().enumerate() {
            let out = senders[(i + 1) % ring.tasks].clone();
            let last = if i == ring.tasks - 1 {
                done_tx.clone()
            } else {
                out.clone()
            };
            let spawned = std::thread::Builder::new()
                .spawn_scoped(scope, move || member(i as u64, ring.laps, input, out, last));
            if let Err(err) = spawned {
                eprintln!(
                    "ring-threads: cannot spawn thread {} of {}: {err}",
                    i + 1,
                    ring.tasks
                );
                return None;
            }
        }
        let inject = senders[0].clone();
        drop(senders);
        drop(done_tx);

        // The clock covers the hops only: from the injection to the token's return.
        let start = Instant::now();
        inject.send(ring_driver::SEED).ok()?;
        let token = done_rx.recv().ok()?;
        Some((token, start.elapsed().as_secs_f64()))
    })
}

fn main() -> ExitCode {
    let ring = match ring_driver::args("ring-threads") {
        Ok(ring) => ring,
        Err(code) => return code,
    };
    let Some((token, elapsed)) = run(ring) else {
        return ExitCode::FAILURE;
    };
    ring_driver::report(ring, token, elapsed, None);
    ExitCode::SUCCESS
}
