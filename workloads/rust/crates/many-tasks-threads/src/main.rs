//! many-tasks workload, OS-thread variant: one `std::thread` per task (std's default 2 MiB stack),
//! each waiting for the release on a `Mutex<bool>` + `Condvar`, then `std::thread::sleep`; the
//! `JoinHandle`s are joined in task order. No pool: every task is its own thread, so the program
//! reports no `workers` (workloads/docs/many-tasks.md). The state, live count, check and checksum
//! are in many-tasks-core, shared with the tokio program.
//!
//! Usage: many-tasks-threads TASKS WAIT_MS

use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

use many_tasks_core::{fold, state, Live};

const PROGRAM: &str = "many-tasks-threads";

/// What every thread shares.
struct Shared {
    live: Live,
    /// Set to true by the last thread to arrive; every thread waits for it before its sleep.
    release: (Mutex<bool>, Condvar),
    wait: Duration,
}

/// The body of thread `i`: state written before the wait, folded after it.
fn task(i: usize, shared: &Shared) -> u64 {
    let state = state(i);
    let (open, opened) = &shared.release;
    if shared.live.arrive() {
        *open.lock().unwrap_or_else(PoisonError::into_inner) = true;
        opened.notify_all();
    }
    drop(
        opened
            .wait_while(
                open.lock().unwrap_or_else(PoisonError::into_inner),
                |open| !*open,
            )
            .unwrap_or_else(PoisonError::into_inner),
    );
    thread::sleep(shared.wait);
    shared.live.leave();
    fold(&state)
}

fn main() -> ExitCode {
    let args = match many_tasks_core::parse_args(PROGRAM) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let shared = Arc::new(Shared {
        live: Live::new(args.tasks),
        release: (Mutex::new(false), Condvar::new()),
        wait: args.wait,
    });
    let start = shared.live.start();
    let mut handles = Vec::with_capacity(args.tasks);
    for i in 0..args.tasks {
        let shared = Arc::clone(&shared);
        match thread::Builder::new().spawn(move || task(i, &shared)) {
            Ok(handle) => handles.push(handle),
            Err(err) => {
                // The threads already started wait for a release that never comes; exiting ends them.
                eprintln!(
                    "{PROGRAM}: cannot start thread {} of {}: {err}",
                    i + 1,
                    args.tasks
                );
                return ExitCode::FAILURE;
            }
        }
    }
    let spawned = start.elapsed();
    let mut results = Vec::with_capacity(args.tasks);
    for handle in handles {
        match handle.join() {
            Ok(result) => results.push(result),
            Err(_) => {
                eprintln!("{PROGRAM}: a thread panicked");
                return ExitCode::FAILURE;
            }
        }
    }
    let elapsed = start.elapsed();
    many_tasks_core::finish(PROGRAM, &results, &shared.live, spawned, elapsed, None)
}
