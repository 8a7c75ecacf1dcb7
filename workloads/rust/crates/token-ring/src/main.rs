//! ring workload, default Rust implementation: a token passed round a ring of K tokio tasks M
//! times over `tokio::sync::mpsc` channels of capacity 1.
//!
//! Task i receives the token from channel i, folds its index into it (`ring_driver::fold`) and
//! sends it on channel (i+1) mod K. tokio has no zero-capacity (rendezvous) channel; a bounded
//! channel of capacity 1 is the closest, and the ring holds one token, so no channel ever holds
//! more than one value either way (workloads/docs/ring.md, "Asymmetries"). The runtime is the
//! multi-thread scheduler with as many workers as the harness gave CPUs (`HARNESS_CPUS`). The main
//! thread injects the token into channel 0 and takes it back from a separate channel after the
//! K*M-th hop (the last task's last send).
//!
//! Usage: ring TASKS LAPS

use std::process::ExitCode;
use std::time::Instant;

use tokio::sync::mpsc::{channel, Receiver, Sender};

/// Ring member `index`: forwards the token `laps` times, the last time on `last`.
async fn member(
    index: u64,
    laps: u64,
    mut input: Receiver<u64>,
    out: Sender<u64>,
    last: Sender<u64>,
) {
    for _ in 1..laps {
        let token = input.recv().await.expect("ring: channel closed");
        out.send(ring_driver::fold(token, index))
            .await
            .expect("ring: channel closed");
    }
    let token = input.recv().await.expect("ring: channel closed");
    last.send(ring_driver::fold(token, index))
        .await
        .expect("ring: channel closed");
}

fn main() -> ExitCode {
    let ring = match ring_driver::args("ring") {
        Ok(ring) => ring,
        Err(code) => return code,
    };
    let workers = match ring_driver::cpus("ring") {
        Ok(n) => n,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("ring: cannot start the tokio runtime: {err}");
            return ExitCode::FAILURE;
        }
    };

    let (token, elapsed) = runtime.block_on(async {
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..ring.tasks).map(|_| channel(1)).unzip();
        let (done_tx, mut done_rx) = channel(1);
        let inject = senders[0].clone();
        let mut members = Vec::with_capacity(ring.tasks);
        for (i, input) in receivers.into_iter().enumerate() {
            let out = senders[(i + 1) % ring.tasks].clone();
            let last = if i == ring.tasks - 1 {
                done_tx.clone()
            } else {
                out.clone()
            };
            members.push(tokio::spawn(member(i as u64, ring.laps, input, out, last)));
        }
        drop(senders);
        drop(done_tx);

        // The clock covers the hops only: from the injection to the token's return.
        let start = Instant::now();
        inject
            .send(ring_driver::SEED)
            .await
            .expect("ring: channel closed");
        let token = done_rx.recv().await.expect("ring: channel closed");
        let elapsed = start.elapsed().as_secs_f64();
        for task in members {
            task.await.expect("ring: a member panicked");
        }
        (token, elapsed)
    });

    ring_driver::report(ring, token, elapsed, Some(workers));
    ExitCode::SUCCESS
}
