"""harness build: build the selected implementations, cached by source hash, and the race builds
`run` will check (unless --no-race-check). Go and Rust build side by side (their toolchains share
no cache or lock), so a cold first build keeps both CPUs busy through each other's serial
stretches (a C library's configure script, a link)."""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from harness.build import settings as build_settings
from harness.build.builder import Builder
from harness.cli import options
from harness.cli.output import progress_view
from harness.measure.race import RACE_BUILD, race_checked
from harness.measure.runner import build_all
from harness.model import BuildRecord, Implementation, Workload


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    s = subparsers.add_parser("build", help="build implementations (cached by source hash)")
    s.add_argument("--workloads", help="comma-separated names (default: all)")
    options.add_race_check(s)
    options.add_defaults_only(s)
    s.set_defaults(func=run)


def lane(impl: Implementation) -> str:
    """The toolchain whose lock a build waits on: a go+rust hybrid runs cargo first, so it goes
    with the Rust builds rather than stall the Go ones behind cargo's lock on the target folder."""
    return "rust" if impl.links is not None else impl.lang


def build_language(
    builder: Builder, selected: list[Workload], lang: str, race: Builder | None = None
) -> list[BuildRecord]:
    """Every implementation in the `lang` lane of the selected workloads, one after another, then
    (with `race`) the race builds of the Go ones `run` checks."""
    records: list[BuildRecord] = []
    for workload in selected:
        mine = tuple(i for i in workload.implementations if lane(i) == lang)
        if mine:
            own = replace(workload, implementations=mine)
            records.extend(build_all(own, builder, progress_view).values())
    for workload in selected if race is not None and lang == "go" else ():
        for impl in race_checked(workload):
            record = race.build(workload, impl)
            state = "cached" if record.cached else f"built in {record.build_seconds:.1f} s"
            progress_view(
                f"race build {workload.name} {impl.key}: {state if record.ok else record.error}"
            )
            records.append(record)
    return records


def run(args: argparse.Namespace) -> int:
    _, cache_dir = options.paths(args)
    selected = options.selection(args)
    langs = sorted({lane(i) for w in selected for i in w.implementations})
    race = Builder(cache_dir, flavour=RACE_BUILD) if args.race_check else None
    with ThreadPoolExecutor(max_workers=len(langs) or 1) as pool:
        builds = [
            pool.submit(build_language, Builder(cache_dir), selected, lang, race) for lang in langs
        ]
        records = [r for build in builds for r in build.result()]
    # once, naming the builds; a race build shares its measured build's label
    for line in build_settings.warnings(records):
        progress_view(line)
    return 0 if all(r.ok for r in records) else 1
