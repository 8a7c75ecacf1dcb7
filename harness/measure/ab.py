"""Measure a base commit and the working tree in ONE run, repetitions interleaved, then compare.

Why: a VM's speed drifts between runs, and the repetitions inside one run cannot see that drift,
so comparing against a stored baseline gave 10 % false alarms on an idle machine here
(docs/regression-gate.md). Alternating base and head repetitions makes drift hit both sides alike;
a fixed order does not: with base always right before head, an A/A check of identical binaries
called a 10-15 % "improvement", so the order within each round is counterbalanced.

The base commit is checked out with `git worktree` into a temporary folder and built there; both
sides run the head's manifests on the head's input bytes, so only the programs differ. Base and
head of every implementation run in the same rounds, in a balanced Latin-square order over all of
them (schedule.py), so `compare` pairs them round by round; rounds are added until every
head/base ratio's CI is narrow enough or the budget runs out.

Server workloads go through the server protocol the same way: base and head servers are the
implementations of one workload, so they are checked against each other, driven at the same offered
rates (fixed, or fractions of the slowest of the four defaults' saturation), and measured in the
same replicates in counterbalanced order; `compare` pairs them replicate by replicate.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from harness.build.builder import Builder
from harness.config import load_workloads
from harness.errors import HarnessError
from harness.measure.launcher import Executor
from harness.measure.noise import read_system_state
from harness.measure.origin import workload_origin
from harness.measure.runner import (
    BuildStep,
    Progress,
    build_all,
    fill_runs,
    input_failed,
    input_or_failure,
    now_iso,
    run_batch_workload,
    settings_warned,
)
from harness.model import (
    InputRecord,
    Machine,
    Run,
    RunConfig,
    SystemState,
    Workload,
    WorkloadResult,
)
from harness.store.results import SCHEMA_VERSION, new_run_id, save_run_file

BASE_SUFFIX = "-base"  # variant suffix of the base side while both run as one workload


def resolve_commit(repo: Path, ref: str) -> str:
    """The full hash of the commit `ref` names, checked before any worktree command. A ref that
    git would read as an option (`--lock` once locked a worktree and compared HEAD with itself)
    is refused; `--end-of-options` keeps git from reading it as one in any case."""
    if ref.startswith("-"):
        raise HarnessError(
            f"base {ref!r} starts with '-', which git would read as an option; "
            "give a commit, branch or tag"
        )
    done = subprocess.run(
        [
            "git",
            "-C",
            str(repo),
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{ref}^{{commit}}",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    commit = done.stdout.strip()
    if done.returncode != 0 or not commit:
        raise HarnessError(f"base {ref!r}: not a commit in {repo} (git rev-parse --verify)")
    return commit


@contextmanager
def checkout(repo: Path, commit: str):
    """A detached worktree of `commit` (a full hash from resolve_commit), removed afterwards
    whatever happens."""
    with tempfile.TemporaryDirectory(prefix="gorust-base-") as tmp:
        target = Path(tmp) / "tree"
        done = subprocess.run(
            [
                "git",
                "-C",
                str(repo),
                "worktree",
                "add",
                "--detach",
                "--quiet",
                "--",
                str(target),
                commit,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise HarnessError(
                f"git worktree add {commit}: "
                f"{done.stderr.strip().splitlines()[-1:] or done.returncode}"
            )
        try:
            yield target
        finally:
            subprocess.run(
                ["git", "-C", str(repo), "worktree", "remove", "--force", "--", str(target)],
                capture_output=True,
                check=False,
            )


def split(result: WorkloadResult) -> tuple[WorkloadResult, WorkloadResult]:
    """The combined workload's result as (base, head), variants named as in the manifests."""
    base = tuple(
        replace(
            i,
            variant=i.variant.removesuffix(BASE_SUFFIX),
            build=replace(i.build, variant=i.build.variant.removesuffix(BASE_SUFFIX)),
        )
        for i in result.implementations
        if i.variant.endswith(BASE_SUFFIX)
    )
    head = tuple(i for i in result.implementations if not i.variant.endswith(BASE_SUFFIX))

    def side(impls) -> WorkloadResult:
        failed = [i for i in impls if i.is_default and i.status != "ok"]
        status = (
            "checksum_mismatch"
            if any(i.status == "checksum_mismatch" and i.is_default for i in impls)
            else ("failed" if failed else "ok")
        )
        return replace(
            result,
            implementations=impls,
            status=status,
            error="; ".join(f"{i.key}: {i.error}" for i in failed) or None,
        )

    return side(base), side(head)


def combined(workload: Workload) -> Workload:
    """The head's workload with every implementation twice: base (suffixed variant) and head.
    A server's back end is twice too: the base side calls the base commit's back end (suffixed
    name, its build under backend_key), so a change to a Rust service shows on its front."""
    base_backends = tuple(
        replace(
            b,
            name=b.name + BASE_SUFFIX,
            implementation=replace(
                b.implementation, variant=b.implementation.variant + BASE_SUFFIX
            ),
        )
        for b in workload.backends
    )
    base = tuple(
        replace(
            i,
            variant=i.variant + BASE_SUFFIX,
            backend=(spec.name + BASE_SUFFIX) if (spec := workload.backend_of(i)) else None,
        )
        for i in workload.implementations
    )
    interleaved = tuple(
        x for pair in zip(base, workload.implementations, strict=True) for x in pair
    )
    return replace(
        workload, implementations=interleaved, backends=(*workload.backends, *base_backends)
    )


def base_backend_key(key: str) -> str:
    """Where the base commit's build of a back end goes in the combined workload's builds."""
    return key + BASE_SUFFIX


def repository_of(workloads_dir: Path) -> tuple[Path, Path]:
    """The git top level holding `workloads_dir`, and the folder's path inside it."""
    done = subprocess.run(
        ["git", "-C", str(workloads_dir), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise HarnessError(f"{workloads_dir}: not inside a git repository, so there is no base")
    top = Path(done.stdout.strip())
    return top, workloads_dir.resolve().relative_to(top.resolve())


def run_ab(
    workloads_dir: Path,
    base_ref: str,
    workloads: Sequence[Workload],
    config: RunConfig,
    machine: Machine,
    executor: Executor,
    cache_dir: Path,
    results_dir: Path,
    progress: Progress = lambda _: None,
    allow_incomplete: bool = False,
    builder: BuildStep | None = None,
    system_state: Callable[[], SystemState | None] = read_system_state,
    run_server: Callable[..., WorkloadResult] | None = None,
) -> tuple[Run, Run]:
    """Two Run values (base, head) measured in one interleaved session, through the suite loop
    `harness run` uses (runner.fill_runs): both are saved in `results_dir` after each workload, and
    a workload whose input cannot be prepared fails on both sides while the rest goes on. A
    selected workload the base lacks is refused before anything is built, unless
    `allow_incomplete` (then skipped). The stopping rule watches every head/base ratio. Both sides
    keep the machine's state read at the start and each workload's one CPU window (it spans both
    sides' repetitions)."""
    repo, inside = repository_of(workloads_dir)
    base_commit = resolve_commit(repo, base_ref)
    session = new_run_id()
    started = now_iso()
    system = system_state()

    def side(label: str, commit: str | None) -> Run:
        return Run(
            schema_version=SCHEMA_VERSION,
            run_id=f"{session}-{label}",
            started_at=started,
            finished_at=None,
            status="running",
            machine=replace(machine, git_commit=commit),
            config=config,
            session_id=session,
            system=system,
        )

    with checkout(repo, base_commit) as base_tree:
        base_manifests = load_workloads(base_tree / inside)
        measurable = [w for w in workloads if w.kind == "batch" or run_server is not None]
        missing = [w.name for w in measurable if w.name not in base_manifests]
        if missing and not allow_incomplete:
            raise HarnessError(
                f"{', '.join(missing)}: not in {base_ref}, so not comparable; "
                "pass --allow-incomplete to measure the rest"
            )
        if len(missing) == len(measurable):
            raise HarnessError(f"no workload to measure against {base_ref}")
        if builder is None:
            builder = Builder(cache_dir)  # each manifest builds in its own tree (Workload.root)
        selected = []
        for workload in workloads:
            if workload.kind != "batch" and run_server is None:
                progress(f"{workload.name}: skipped (no server runner)")
            elif workload.name not in base_manifests:
                progress(f"{workload.name}: not in {base_ref}; skipped")
            else:
                selected.append(workload)

        def measure(workload: Workload) -> tuple[WorkloadResult, WorkloadResult]:
            base_manifest = base_manifests[workload.name]
            base_builds = build_all(base_manifest, builder, progress)
            head_builds = build_all(workload, builder, progress)
            built.extend((*base_builds.values(), *head_builds.values()))
            builds = {**head_builds}
            for impl in workload.implementations:
                record = base_builds.get(impl.key)
                if record is None:
                    record = replace(head_builds[impl.key], ok=False, error=f"not in {base_ref}")
                builds[f"{impl.lang}/{impl.variant}{BASE_SUFFIX}"] = replace(
                    record, variant=impl.variant + BASE_SUFFIX
                )
            for backend in workload.backends:
                record = base_builds.get(backend.key)
                if record is None:
                    record = replace(head_builds[backend.key], ok=False, error=f"not in {base_ref}")
                builds[base_backend_key(backend.key)] = record
            both = combined(workload)
            input_record: InputRecord | str | None = None
            if workload.kind == "server":
                assert run_server is not None
                progress(f"run {workload.name}: {base_ref} and working tree interleaved")
                setters = [
                    k
                    for i in workload.implementations
                    if i.is_default
                    for k in (i.key, f"{i.key}{BASE_SUFFIX}")
                ]
                result = run_server(both, builds, None, config, executor, progress, setters)
            else:
                input_record = input_or_failure(workload, config.size, cache_dir, progress)
                if isinstance(input_record, str):
                    result = input_failed(both, builds, input_record, config.size)
                else:
                    progress(f"run {workload.name}: {base_ref} and working tree interleaved")
                    targets = [(i.key, f"{i.key}{BASE_SUFFIX}") for i in workload.implementations]
                    result = run_batch_workload(
                        both, builds, input_record, config, executor, progress, targets
                    )
            base, head = split(result)
            if isinstance(input_record, str):  # each side fails for the reason, not its programs
                base, head = (replace(s, status="failed", error=input_record) for s in (base, head))
            return (
                replace(base, origin=workload_origin(base_manifest)),
                replace(head, origin=workload_origin(workload)),
            )

        with settings_warned(progress) as built:
            (base, head), _ = fill_runs(
                (side("base", base_commit), side("head", machine.git_commit)),
                selected,
                measure,
                lambda r: save_run_file(r, results_dir),
                progress,
            )
    return base, head
