"""Warnings that mean something: a recorded build setting that changes no generated code (Go's VCS
stamping from the go env file) is never warned on and is listed once in the report's methodology;
one that can change code warns once per run, naming every build it touched.

Through the real path: run_suite with the scripted executor and a builder whose records carry the
settings as harness/build/environment.py words them, then the HTML report of that run."""

from __future__ import annotations

from dataclasses import replace

import pytest
from builders import build_record, machine, run_config, workload
from fakes import FakeExecutor

from harness.build import settings
from harness.measure.runner import run_suite
from harness.report.html import build_context, render

VCS = {"GOFLAGS": ("-buildvcs=false", "GOFLAGS='-buildvcs=false' (default '')")}
NATIVE = {"RUSTFLAGS": ("-C target-cpu=native", "RUSTFLAGS='-C target-cpu=native'")}
AMD64 = {"GOAMD64": ("v3", "GOAMD64='v3' (default 'v1')")}


class SettingsBuilder:
    """Builds nothing; each record carries the settings given for its language (and, in `only`,
    for one build), as the real builder records them."""

    def __init__(self, per_lang, only=None):
        self.per_lang, self.only = per_lang, only or {}

    def build(self, wl, impl):
        found = {**self.per_lang.get(impl.lang, {}), **self.only.get((wl.name, impl.key), {})}
        return replace(
            build_record(impl.lang, impl.variant, wl.name),
            environment={k: v for k, (v, _) in found.items()},
            environment_changes=tuple(change for _, change in found.values()),
        )


def measured(tmp_path, builder):
    lines: list[str] = []
    run, _ = run_suite(
        [workload(name, args=("{depth}",), with_input=False) for name in ("one", "two")],
        run_config(warmups=0, repetitions=2),
        machine(),
        builder,
        FakeExecutor(),
        tmp_path / "results",
        tmp_path / "cache",
        progress=lines.append,
    )
    return run, [line for line in lines if isinstance(line, str)]  # not the round updates


def test_vcs_stamping_is_never_warned_on_and_listed_once_in_the_methodology(tmp_path):
    run, lines = measured(tmp_path, SettingsBuilder({"go": VCS}))
    assert not [line for line in lines if "warning" in line]
    # still recorded, as before
    assert all(
        i.build.environment_changes == ("GOFLAGS='-buildvcs=false' (default '')",)
        for w in run.workloads
        for i in w.implementations
        if i.lang == "go"
    )
    methodology = build_context(run)["methodology"]
    assert methodology["build_changes"] == []
    quiet = "Build settings that change no code: GOFLAGS=-buildvcs=false (all 2 Go builds)"
    assert methodology["build_settings_quiet"] == quiet
    page = render(build_context(run))
    assert page.count(quiet) == 1 and page.count("buildvcs") == 1
    assert "can change generated code" not in page


def test_a_code_changing_setting_warns_once_naming_every_build_it_touched(tmp_path):
    builder = SettingsBuilder(
        {"go": VCS, "rust": NATIVE}, only={("two", "go/default"): {**VCS, **AMD64}}
    )
    run, lines = measured(tmp_path, builder)
    warnings = [line for line in lines if "warning" in line]
    assert warnings == [
        "warning: setting that can change generated code: RUSTFLAGS='-C target-cpu=native' "
        "(all 2 Rust builds); recorded in the build records and the report's methodology",
        "warning: setting that can change generated code: GOAMD64='v3' (default 'v1') "
        "(two go/default); recorded in the build records and the report's methodology",
    ]
    assert lines.index(warnings[0]) > max(i for i, x in enumerate(lines) if x.startswith("build "))
    methodology = build_context(run)["methodology"]
    assert methodology["build_changes"] == [
        "RUSTFLAGS='-C target-cpu=native' (all 2 Rust builds)",
        "GOAMD64='v3' (default 'v1') (two go/default)",
    ]
    assert methodology["build_settings_quiet"] == (
        "Build settings that change no code: GOFLAGS=-buildvcs=false (all 2 Go builds)"
    )
    page = render(build_context(run))
    assert "Build settings that can change generated code" in page
    assert page.count("target-cpu=native") == 1


@pytest.mark.parametrize(
    ("name", "value", "changes_code"),
    [
        ("GOFLAGS", "-buildvcs=false", False),
        ("GOFLAGS", "-modcacherw -mod=mod", False),
        ("GOFLAGS", "-buildvcs=false -tags=netgo", True),
        ("GOFLAGS", "--trimpath", True),
        ("GOFLAGS", "-ldflags=-s", True),
        ("GOFLAGS", "-someday-a-new-flag", True),  # unknown: conservative
        ("GOPROXY", "off", False),
        ("CARGO_TARGET_DIR", "/tmp/t", False),
        ("CARGO_TERM_COLOR", "always", False),
        ("CARGO_BUILD_JOBS", "1", False),
        ("CARGO_BUILD_RUSTFLAGS", "-C target-cpu=native", True),
        ("CARGO_PROFILE_RELEASE_LTO", "fat", True),
        ("CARGO_ENCODED_RUSTFLAGS", "-Copt-level=2", True),
        ("GOEXPERIMENT", "nogreenteagc", True),
        ("GOTOOLCHAIN", "go1.25.0", True),  # another compiler
        ("CGO_CFLAGS", "-O3", True),
        ("SOMETHING_NEW", "1", True),  # unknown: conservative
    ],
)
def test_each_setting_is_classified_and_unknown_ones_count_as_code_changing(
    name, value, changes_code
):
    record = replace(
        build_record(), environment={name: value}, environment_changes=(f"{name}={value!r}",)
    )
    found = settings.classify(record)
    assert any(s.changes_code for s in found) == changes_code
    if name == "GOFLAGS":  # split: one entry per flag
        assert [s.text for s in found] == [f"GOFLAGS={flag}" for flag in value.split()]


def test_goflags_keep_only_the_flags_that_differ_from_the_default():
    record = replace(
        build_record(),
        environment={"GOFLAGS": "-mod=mod -buildvcs=false"},
        environment_changes=("GOFLAGS='-mod=mod -buildvcs=false' (default '-mod=mod')",),
    )
    assert settings.classify(record) == (settings.Setting("GOFLAGS=-buildvcs=false", False),)


def test_a_failed_go_env_and_a_cargo_config_file_count_as_code_changing():
    failed = replace(build_record(), environment_changes=("go env failed: settings unknown",))
    config = replace(
        build_record("rust"),
        environment={"cargo config /w/.cargo/config.toml": '{"build": {"jobs": 1}}'},
        environment_changes=('cargo config /w/.cargo/config.toml=\'{"build": {"jobs": 1}}\'',),
    )
    assert all(s.changes_code for r in (failed, config) for s in settings.classify(r))
