//! The many-tasks workload around the tasks, shared by the `many-tasks` (tokio) and
//! `many-tasks-threads` (one OS thread per task) binaries, so that both run exactly the same
//! per-task state, live count, check and checksum, and differ only in how a task is spawned, waits
//! and is joined.
//!
//! Task `i` writes [`STATE_WORDS`] words derived from `i` ([`state`]), counts itself in
//! ([`Live::arrive`]), waits for the release that the last task to arrive opens, sleeps `WAIT_MS`,
//! counts itself out ([`Live::leave`]) and folds its words into one result ([`fold`]). No task can
//! leave before the last one has arrived, so all N tasks are alive at once by construction;
//! [`finish`] also checks it (the live counter's high-water mark must be N) and fails otherwise.
//! The checksum is FNV-1a 64 over the N results (8 bytes each, little-endian, in task order) and
//! then the high-water mark (8 bytes), as in the Go program.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The live state of one task: 16 words, 128 bytes.
pub const STATE_WORDS: usize = 16;

/// Bounds TASKS so that a typo cannot ask for more memory than any machine has.
const MAX_TASKS: usize = 10_000_000;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// The command line: `PROGRAM TASKS WAIT_MS`.
#[derive(Clone, Copy, Debug)]
pub struct Args {
    pub tasks: usize,
    pub wait: Duration,
}

fn parse_arg(program: &str, name: &str, arg: &str, lo: usize, hi: usize) -> Result<usize, String> {
    match arg.parse::<usize>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => Err(format!(
            "{program}: bad {name} {arg:?} (want an integer in {lo}..{hi})"
        )),
    }
}

/// Parses `TASKS WAIT_MS` from the command line; the error is the one-line message to print.
pub fn parse_args(program: &str) -> Result<Args, String> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        return Err(format!("usage: {program} TASKS WAIT_MS"));
    }
    let tasks = parse_arg(program, "TASKS", &args[1], 1, MAX_TASKS)?;
    let wait_ms = parse_arg(program, "WAIT_MS", &args[2], 1, 60_000)?;
    Ok(Args {
        tasks,
        wait: Duration::from_millis(wait_ms as u64),
    })
}

/// The CPU count the harness gives the program (`HARNESS_CPUS`, workloads/README.md "CPUs and
/// workers"), or the CPUs this process may run on when it is unset.
pub fn harness_cpus(program: &str) -> Result<usize, String> {
    match std::env::var("HARNESS_CPUS") {
        Ok(value) => match value.parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "{program}: bad HARNESS_CPUS {value:?} (want a positive integer)"
            )),
        },
        Err(_) => std::thread::available_parallelism()
            .map(usize::from)
            .map_err(|err| format!("{program}: cannot count the CPUs: {err}")),
    }
}

/// The finalizer of the SplitMix64 generator: a cheap, well-mixed function of `x`.
fn splitmix64(x: u64) -> u64 {
    let z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    let z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Task `i`'s live state, written before its wait.
pub fn state(i: usize) -> [u64; STATE_WORDS] {
    std::array::from_fn(|j| splitmix64((i * STATE_WORDS + j) as u64))
}

/// Task `i`'s result, folded from its state after the wait: FNV-1a over the words.
pub fn fold(state: &[u64; STATE_WORDS]) -> u64 {
    state
        .iter()
        .fold(FNV_OFFSET, |h, &w| (h ^ w).wrapping_mul(FNV_PRIME))
}

/// The live count every task updates: how many have arrived and not left, its high-water mark, and
/// when it first reached N.
pub struct Live {
    tasks: u64,
    start: Instant,
    live: AtomicU64,
    max_live: AtomicU64,
    alive_at_nanos: AtomicU64,
}

impl Live {
    /// A count for `tasks` tasks; the clock (`start`) starts now, just before the spawn loop.
    pub fn new(tasks: usize) -> Self {
        Live {
            tasks: tasks as u64,
            start: Instant::now(),
            live: AtomicU64::new(0),
            max_live: AtomicU64::new(0),
            alive_at_nanos: AtomicU64::new(0),
        }
    }

    /// When the spawn loop started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Counts a task in; true for the last one to arrive, which then opens the release.
    pub fn arrive(&self) -> bool {
        let live = self.live.fetch_add(1, Ordering::Relaxed) + 1;
        self.max_live.fetch_max(live, Ordering::Relaxed);
        if live == self.tasks {
            let nanos = self.start.elapsed().as_nanos() as u64;
            self.alive_at_nanos.store(nanos, Ordering::Relaxed);
            return true;
        }
        false
    }

    /// Counts a task out, after its wait.
    pub fn leave(&self) {
        self.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// FNV-1a 64 over the results (8 bytes each, little-endian, in task order) and then the live
/// counter's high-water mark.
fn checksum(results: &[u64], max_live: u64) -> u64 {
    let mut h = FNV_OFFSET;
    for word in results.iter().chain([&max_live]) {
        for byte in word.to_le_bytes() {
            h = (h ^ u64::from(byte)).wrapping_mul(FNV_PRIME);
        }
    }
    h
}

/// Checks that all tasks were alive at once, and prints the contract's JSON line: the checksum of
/// `results` (task order), `spawned` (the spawn loop) and `elapsed` (spawn start to all joined).
/// `workers` is the pool the program sized (`None`: it has none, one OS thread per task).
pub fn finish(
    program: &str,
    results: &[u64],
    live: &Live,
    spawned: Duration,
    elapsed: Duration,
    workers: Option<usize>,
) -> ExitCode {
    let max_live = live.max_live.load(Ordering::Relaxed);
    if max_live != live.tasks {
        eprintln!(
            "{program}: only {max_live} of {} tasks were alive at once",
            live.tasks
        );
        return ExitCode::FAILURE;
    }
    let h = checksum(results, max_live);
    let alive = Duration::from_nanos(live.alive_at_nanos.load(Ordering::Relaxed));
    let workers = workers.map_or(String::new(), |n| format!(",\"workers\":{n}"));
    println!(
        "{{\"checksum\":\"{h:016x}\",\"items\":{},\"bytes\":0,\"work_seconds\":{},\"extra\":{{\"spawn_seconds\":{},\"alive_seconds\":{},\"join_seconds\":{},\"max_live\":{max_live}{workers}}}}}",
        results.len(),
        elapsed.as_secs_f64(),
        spawned.as_secs_f64(),
        alive.as_secs_f64(),
        (elapsed - spawned).as_secs_f64(),
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same pin as the Go program's test (workloads/go/many-tasks/main_test.go): `1 1`'s
    /// checksum, from SplitMix64 (whose first output from 0 is a published value) and the fold.
    #[test]
    fn state_fold_and_checksum_match_the_go_program() {
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        assert_eq!(state(1)[0], splitmix64(16));
        assert_eq!(checksum(&[fold(&state(0))], 1), 0x1e3e_ec4a_eaf2_e065);
    }

    /// The program refuses a run in which not every task was alive at once: the high-water mark,
    /// not the number of arrivals, decides, and only the N-th live task opens the release.
    #[test]
    fn only_all_tasks_alive_at_once_pass_the_check() {
        let live = Live::new(2);
        assert!(!live.arrive());
        live.leave(); // the first task leaves before the second arrives
        assert!(!live.arrive());
        let second = Duration::from_secs(1);
        assert_eq!(
            finish("test", &[1, 2], &live, second, second, None),
            ExitCode::FAILURE
        );
        assert!(live.arrive());
        assert_eq!(
            finish("test", &[1, 2], &live, second, second, None),
            ExitCode::SUCCESS
        );
    }
}
