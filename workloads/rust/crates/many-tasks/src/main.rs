//! many-tasks workload, default Rust implementation: one `tokio::spawn` per task on tokio's
//! multi-thread runtime, sized from `HARNESS_CPUS`; each task waits for the release on a
//! `tokio::sync::watch` channel, then `tokio::time::sleep`s; the `JoinHandle`s are awaited in task
//! order. The state, live count, check and checksum are in many-tasks-core, shared with the
//! OS-thread variant (workloads/docs/many-tasks.md).
//!
//! Usage: many-tasks TASKS WAIT_MS

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use many_tasks_core::{fold, state, Live};
use tokio::sync::watch;

const PROGRAM: &str = "many-tasks";

/// What every task shares.
struct Shared {
    live: Live,
    /// Set to true by the last task to arrive; every task waits for it before its timer.
    release: watch::Sender<bool>,
    wait: Duration,
}

/// The body of task `i`: state written before the wait, folded after it.
async fn task(i: usize, shared: Arc<Shared>) -> u64 {
    let state = state(i);
    if shared.live.arrive() {
        shared.release.send_replace(true);
    }
    {
        let mut release = shared.release.subscribe();
        // Only a dropped sender ends the wait with an error, and `shared` holds it.
        let _ = release.wait_for(|open| *open).await;
    }
    tokio::time::sleep(shared.wait).await;
    shared.live.leave();
    fold(&state)
}

fn main() -> ExitCode {
    let (args, workers) = match (
        many_tasks_core::parse_args(PROGRAM),
        many_tasks_core::harness_cpus(PROGRAM),
    ) {
        (Ok(args), Ok(workers)) => (args, workers),
        (Err(message), _) | (_, Err(message)) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("{PROGRAM}: cannot start the tokio runtime: {err}");
            return ExitCode::FAILURE;
        }
    };

    // The spawn loop runs on the main thread inside block_on, as under #[tokio::main].
    let joined = runtime.block_on(async {
        let shared = Arc::new(Shared {
            live: Live::new(args.tasks),
            release: watch::Sender::new(false),
            wait: args.wait,
        });
        let start = shared.live.start();
        let mut handles = Vec::with_capacity(args.tasks);
        for i in 0..args.tasks {
            handles.push(tokio::spawn(task(i, Arc::clone(&shared))));
        }
        let spawned = start.elapsed();
        let mut results = Vec::with_capacity(args.tasks);
        for handle in handles {
            results.push(handle.await?);
        }
        Ok::<_, tokio::task::JoinError>((results, shared, spawned, start.elapsed()))
    });
    match joined {
        Ok((results, shared, spawned, elapsed)) => many_tasks_core::finish(
            PROGRAM,
            &results,
            &shared.live,
            spawned,
            elapsed,
            Some(workers),
        ),
        Err(err) => {
            eprintln!("{PROGRAM}: a task failed: {err}");
            ExitCode::FAILURE
        }
    }
}
