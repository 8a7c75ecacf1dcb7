//! The parts of the ring workload the two Rust binaries share: the command line, the CPU count the
//! harness gives (`HARNESS_CPUS`), the token's per-hop fold and the contract's result line. The
//! tasks and channels, the thing measured, are each binary's own.

use std::process::ExitCode;

/// FNV-1a 64 offset basis: the token's value when it is injected into the ring.
pub const SEED: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// What ring member `index` does to the token before passing it on: one FNV-1a 64 step with the
/// member's index as the "byte", so the final value depends on every hop and its order.
#[inline]
pub fn fold(token: u64, index: u64) -> u64 {
    (token ^ index).wrapping_mul(FNV_PRIME)
}

/// The ring's size and how many times the token goes round it.
#[derive(Clone, Copy, Debug)]
pub struct Ring {
    pub tasks: usize,
    pub laps: u64,
}

impl Ring {
    /// Token passes by ring members: every member forwards the token once per lap.
    pub fn hops(&self) -> u64 {
        self.tasks as u64 * self.laps
    }
}

fn parse(program: &str, name: &str, arg: &str, min: u64, max: u64) -> Result<u64, ExitCode> {
    match arg.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => {
            eprintln!("{program}: bad {name} {arg:?} (want an integer in {min}..{max})");
            Err(ExitCode::from(2))
        }
    }
}

/// Parses `TASKS LAPS` from the command line (at least 2 tasks: a member of a ring of 1 would send
/// to itself, which a rendezvous channel never completes); on bad input prints a one-line error naming the
/// argument and returns the exit code.
pub fn args(program: &str) -> Result<Ring, ExitCode> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: {program} TASKS LAPS");
        return Err(ExitCode::from(2));
    }
    let tasks = parse(program, "TASKS", &args[1], 2, 1_000_000)? as usize;
    let laps = parse(program, "LAPS", &args[2], 1, 1_000_000_000)?;
    Ok(Ring { tasks, laps })
}

/// The CPUs the harness gave this program (`HARNESS_CPUS`, workloads/README.md "CPUs and
/// workers"); unset, the CPUs this process may run on.
pub fn cpus(program: &str) -> Result<usize, ExitCode> {
    match std::env::var("HARNESS_CPUS") {
        Ok(value) => match value.parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => {
                eprintln!("{program}: bad HARNESS_CPUS {value:?} (want an integer of at least 1)");
                Err(ExitCode::from(2))
            }
        },
        Err(_) => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
    }
}

/// Prints the contract's result line: the final token as the checksum, the hops as items, and
/// `workers` when the program has a pool sized from the CPUs (the thread variant has none).
pub fn report(ring: Ring, token: u64, work_seconds: f64, workers: Option<usize>) {
    let hops = ring.hops();
    let workers = workers.map_or(String::new(), |n| format!("\"workers\":{n},"));
    println!(
        "{{\"checksum\":\"{token:016x}\",\"items\":{hops},\"bytes\":0,\"work_seconds\":{work_seconds},\
         \"extra\":{{{workers}\"hops\":{hops}}}}}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fold_is_fnv1a_over_the_indexes() {
        // Two laps of a ring of 2 = FNV-1a 64 of the bytes 0, 1, 0, 1.
        let token = [0u64, 1, 0, 1].iter().fold(SEED, |t, &i| fold(t, i));
        let mut h: u64 = SEED;
        for b in [0u8, 1, 0, 1] {
            h = (h ^ u64::from(b)).wrapping_mul(FNV_PRIME);
        }
        assert_eq!(token, h);
    }
}
