"""Sweeps: axes from the command line and from manifests, values checked before anything is built,
each point an ordinary workload of the run (scripted binaries through the real CLI and runner),
Go runtime settings reaching Go only, and the growth exponent on hand-computed values."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from builders import workload
from scripted import add_workload, manifest, run_cli

from harness import config
from harness.analysis import scaling
from harness.errors import HarnessError
from harness.measure import sweep
from harness.store.results import load_run

ROOT = Path(__file__).resolve().parents[2]

# --- axes -----------------------------------------------------------------------------------------


def test_a_linked_setting_may_repeat_a_value():
    axis = sweep.axis_from_options(["GOGC=100,off", "GOMEMLIMIT=off,off"], [])
    assert axis.linked == (("GOMEMLIMIT", ("off", "off")),)


def test_an_axis_from_options_links_further_params_and_fixes_sets():
    axis = sweep.axis_from_options(
        ["entries=100,200", "key_regex=a,b"], ["GOGC=off", "GOMEMLIMIT=64MiB"]
    )
    assert axis == sweep.Axis(
        "entries",
        ("100", "200"),
        (("key_regex", ("a", "b")),),
        (("GOGC", "off"), ("GOMEMLIMIT", "64MiB")),
    )


@pytest.mark.parametrize(
    ("params", "sets", "message"),
    [
        ([], [], "--param: give the axis to sweep"),
        (["depth"], [], "--param: expected NAME=V1,V2,... got 'depth'"),
        (["depth=1,,2"], [], "--param: expected NAME=V1,V2,... got 'depth=1,,2'"),
        (["depth=1,1"], [], "--param depth: each value of the axis once"),
        (["a=1,2", "b=1"], [], "--param b: 1 values, but the axis a has 2"),
        (["a=1,2"], ["GOGC=1,2"], "--set GOGC: one value, got 2"),
        (["a=1,2"], ["a=3"], "--param/--set: a given more than once"),
    ],
)
def test_bad_axes_are_one_line_errors_naming_the_option(params, sets, message):
    with pytest.raises(HarnessError, match="^" + message.replace("(", r"\(")):
        sweep.axis_from_options(params, sets)


@pytest.mark.parametrize(
    ("name", "value"),
    [("GOGC", "0"), ("GOGC", "-5"), ("GOGC", "fast"), ("GOMEMLIMIT", "1GB"), ("GOMAXPROCS", "0")],
)
def test_runtime_values_go_would_reject_are_refused(name, value):
    with pytest.raises(HarnessError, match=f"sweep {name}: "):
        sweep.expand(workload(), sweep.Axis(name, ("100", value)), "quick", 1, "sweep")


def test_an_unknown_parameter_or_a_word_for_a_number_is_refused():
    with pytest.raises(HarnessError, match=r"has no parameter 'sizes'.*known: depth, GOGC"):
        sweep.expand(workload(), sweep.Axis("sizes", ("1", "2")), "quick", 1, "sweep")
    with pytest.raises(HarnessError, match="sweep depth: the manifest's value is a number"):
        sweep.expand(workload(), sweep.Axis("depth", ("1", "many")), "quick", 1, "sweep")


def test_expand_names_each_point_sets_its_parameter_and_shuffles_the_order():
    points = sweep.expand(
        workload(), sweep.Axis("depth", ("1", "2", "4", "8")), "quick", 7, "sweep"
    )
    by_position = sorted(points, key=lambda w: w.sweep_point.position)
    assert [w.name for w in by_position] == [
        "demo@depth=1",
        "demo@depth=2",
        "demo@depth=4",
        "demo@depth=8",
    ]
    assert [w.params["quick"]["depth"] for w in by_position] == [1, 2, 4, 8]
    assert [w.sweep_point.run_order for w in points] == [0, 1, 2, 3]
    assert sorted(w.sweep_point.position for w in points) == [0, 1, 2, 3]
    assert [w.sweep_point.numeric for w in by_position] == [1.0, 2.0, 4.0, 8.0]
    # the same seed, the same order; the manifest's own workload is untouched
    again = sweep.expand(workload(), sweep.Axis("depth", ("1", "2", "4", "8")), "quick", 7, "sweep")
    assert [w.name for w in again] == [w.name for w in points]
    assert workload().params["quick"]["depth"] == 12


def test_a_runtime_setting_reaches_go_only():
    (off, *_) = sorted(
        sweep.expand(
            workload(),
            sweep.Axis("GOMEMLIMIT", ("off", "512MiB"), fixed=(("GOGC", "off"),)),
            "quick",
            1,
            "sweep",
        ),
        key=lambda w: w.sweep_point.position,
    )
    go, rust = off.default_for("go"), off.default_for("rust")
    assert go.env == (("GOMEMLIMIT", "off"), ("GOGC", "off"))
    assert rust.env == ()
    assert off.sweep_point.numeric is None  # "off" has no place on a curve
    assert sweep.numeric("GOMEMLIMIT", "512MiB") == 512 * 2**20


# --- manifests ------------------------------------------------------------------------------------


def test_a_manifest_sweep_table_is_read_and_checked(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text(
        manifest("w", extra='\n[sweep.quick]\nn = [1, 2, 4]\nGOGC = [50, 100, "off"]\n')
    )
    found = config.load_manifest(path)
    assert found.sweeps == {"quick": (("n", ("1", "2", "4")), ("GOGC", ("50", "100", "off")))}
    axis = sweep.manifest_axis(found, "quick")
    assert axis.name == "n" and axis.linked == (("GOGC", ("50", "100", "off")),)
    assert sweep.with_fixed(axis, ["GOMEMLIMIT=1GiB"]).fixed == (("GOMEMLIMIT", "1GiB"),)
    with pytest.raises(HarnessError, match="--param/--set: GOGC given more than once"):
        sweep.with_fixed(axis, ["GOGC=200"])
    with pytest.raises(HarnessError, match=r"no \[sweep.full\] table; give the axis with --param"):
        sweep.manifest_axis(found, "full")
    path.write_text(manifest("w", extra="\n[sweep.quick]\nm = [1, 2]\n"))
    with pytest.raises(HarnessError, match=r"\[sweep.quick\]: 'm' is neither a parameter"):
        config.load_manifest(path)
    path.write_text(manifest("w", extra="\n[sweep.quick]\nn = [1, 2]\nGOGC = [50]\n"))
    with pytest.raises(HarnessError, match=r"field 'GOGC' must be a list of at least 2 values"):
        config.load_manifest(path)
    path.write_text(manifest("w", extra="\n[sweep.quick]\nn = [1, 2, 3]\nGOGC = [50, 60]\n"))
    with pytest.raises(HarnessError, match="every field needs as many values as 'n'"):
        config.load_manifest(path)


# --- through the CLI ------------------------------------------------------------------------------

# Prints a result line whose work time grows as n^2; the Go script also records its GOGC.
GROWING = """\
n=$1
echo "GOGC=${GOGC:-unset} lang=$LANG_TAG" >> "$(dirname "$0")/env.log"
echo "{\\"checksum\\":\\"00000000deadbeef\\",\\"items\\":$n,\\"bytes\\":$n,\\"work_seconds\\":$((n*n))}"
"""


def test_sweep_measures_every_point_as_a_workload_and_records_it(tmp_path, monkeypatch):
    workloads = tmp_path / "workloads"
    add_workload(workloads, "grow", go="LANG_TAG=go\n" + GROWING, rust="LANG_TAG=rust\n" + GROWING)
    argv = [
        "--workloads-dir",
        str(workloads),
        "--results-dir",
        str(tmp_path / "results"),
        "--cache-dir",
        str(tmp_path / "cache"),
        "sweep",
        "--workloads",
        "grow",
        "--param",
        "n=1,2,4",
        "--set",
        "GOGC=400",
        "--repetitions",
        "2",
        "--pin",
        "none",
        "--seed",
        "3",
    ]
    assert run_cli(argv, monkeypatch) == 0
    run = load_run(tmp_path / "results" / "latest.json")
    assert sorted(w.name for w in run.workloads) == ["grow@n=1", "grow@n=2", "grow@n=4"]
    assert [w.sweep.run_order for w in run.workloads] == [0, 1, 2]
    for result in run.workloads:
        assert result.status == "ok"
        point = result.sweep
        assert (point.workload, point.axis, point.fixed) == ("grow", "n", (("GOGC", "400"),))
        assert result.params["n"] == int(point.value)
    logged = (workloads / "go" / "grow" / "env.log").read_text().splitlines()
    assert set(logged) == {"GOGC=400 lang=go"}
    assert set((workloads / "rust" / "grow" / "env.log").read_text().splitlines()) == {
        "GOGC=unset lang=rust"
    }
    # the scripts' work time is n^2, so the exponent over the points is 2
    pairs = [
        (result.sweep.numeric, rep.work_seconds)
        for result in run.workloads
        for rep in result.result_for("go/default").repetitions
    ]
    found = scaling.growth_exponent(pairs)
    assert found is not None and found.slope == pytest.approx(2.0)


def test_sweep_refuses_a_server_without_fixed_rates_before_building(tmp_path, monkeypatch, capsys):
    server = tmp_path / "workloads"
    server.mkdir()
    (server / "api.toml").write_text(
        manifest("api", kind="server", category="server", args=("--port", "{port}"))
        + '\n[server]\nhealth = "/health"\n[[server.requests]]\nname = "get"\nmethod = "GET"\n'
        'path = "/"\nshare = 1.0\nexpect_status = 200\n'
    )
    argv = ["--workloads-dir", str(server), "--results-dir", str(tmp_path / "results")]
    argv += ["sweep", "--workloads", "api", "--param", "n=1,2"]
    assert run_cli(argv, monkeypatch) == 2
    error = capsys.readouterr().err
    assert "api: a server sweep needs fixed rates (--rates, or [server.rates] quick in" in error
    assert not (tmp_path / "results").exists()


# --- the exponent ---------------------------------------------------------------------------------


def test_growth_exponent_of_an_exact_power_law_is_its_power():
    pairs = [(x, 0.5 * x**1.5) for x in (100, 200, 400, 800)]
    found = scaling.growth_exponent(pairs)
    assert found.slope == pytest.approx(1.5)
    assert found.ci_low == pytest.approx(1.5) and found.ci_high == pytest.approx(1.5)
    assert (found.points, found.samples) == (4, 4)


def test_growth_exponent_hand_computed_theil_sen():
    # log-log points (0, 0), (ln 2, ln 2), (ln 4, ln 8): pairwise slopes 1 (first two), 2 (last
    # two) and 3 ln 2 / 2 ln 2 = 1.5 (first and last) -> median 1.5
    pairs = [(1, 1.0), (2, 2.0), (4, 8.0)]
    found = scaling.growth_exponent(pairs)
    assert found.slope == pytest.approx(1.5)
    assert found.ci_low <= 1.0 + 1e-9 and found.ci_high >= 2.0 - 1e-9
    assert scaling.exponent_text(found).startswith("^1.50 [")


def test_a_flat_metric_grows_as_size_to_the_zero_with_a_zero_interval():
    found = scaling.growth_exponent([(x, 4.0) for x in (1, 2, 4, 8) for _ in range(3)])
    assert (found.slope, found.ci_low, found.ci_high) == (0.0, 0.0, 0.0)
    assert scaling.exponent_text(found) == "^0.00 [0.00, 0.00]"


def test_growth_exponent_needs_three_positive_points():
    assert scaling.growth_exponent([(1, 1.0), (2, 2.0), (2, 2.1)]) is None
    assert scaling.growth_exponent([(0, 1.0), (1, 1.0), (2, 2.0)]) is None  # log(0)
    assert math.isclose(
        scaling.growth_exponent([(0, 1.0), (1, 1.0), (2, 2.0), (4, 4.0)]).slope, 1.0
    )
    assert "fewer than 3" in scaling.exponent_text(None)


def test_point_estimate_gives_the_median_and_its_ci():
    found = scaling.point_estimate("200", 200.0, [1.0, 2.0, 3.0, 4.0, 5.0])
    assert (found.median, found.n) == (3.0, 5)
    assert found.ci_low <= 3.0 <= found.ci_high
    assert json.dumps(found.value) == '"200"'


# --- the repository's own sweeps ------------------------------------------------------------------


def test_the_default_sweeps_expand_and_kv_cache_keys_match_exactly_its_entries():
    workloads = config.load_workloads(ROOT / "workloads")
    swept = {name for name, w in workloads.items() if w.sweeps}
    assert {"json", "logparse", "gzip", "binarytrees", "kv-cache"} <= swept
    for name in swept:
        for size in ("quick", "full"):
            axis = sweep.manifest_axis(workloads[name], size)
            points = sweep.expand(workloads[name], axis, size, 1, "sweep")
            assert len(points) >= 4, (name, size)
    kv = workloads["kv-cache"]
    for size in ("quick", "full"):
        for point in sweep.expand(kv, sweep.manifest_axis(kv, size), size, 1, "sweep"):
            entries = point.params[size]["entries"]
            pattern = re.compile(point.params[size]["key_regex"])
            assert pattern.fullmatch("key-00000000")
            assert pattern.fullmatch(f"key-{entries - 1:08d}"), (size, entries)
            assert not pattern.fullmatch(f"key-{entries:08d}"), (size, entries)


def test_sweep_without_workloads_takes_the_batch_manifests_with_a_sweep_table(
    tmp_path, monkeypatch, capsys
):
    workloads = tmp_path / "workloads"
    add_workload(workloads, "grow", go=GROWING, extra="\n[sweep.quick]\nn = [1, 2, 3]\n")
    add_workload(workloads, "flat")  # no [sweep]: not swept
    common = ["--workloads-dir", str(workloads), "--results-dir", str(tmp_path / "results")]
    common += ["--cache-dir", str(tmp_path / "cache")]
    argv = [*common, "sweep", "--repetitions", "1", "--pin", "none"]
    assert run_cli(argv, monkeypatch) == 0
    run = load_run(tmp_path / "results" / "latest.json")
    assert sorted(w.name for w in run.workloads) == ["grow@n=1", "grow@n=2", "grow@n=3"]
    assert run_cli([*common, "sweep", "--param", "n=1,2"], monkeypatch) == 2
    assert "--workloads: name the workloads to sweep along --param" in capsys.readouterr().err


def test_sweep_measures_the_defaults_unless_asked_for_variants(tmp_path, monkeypatch):
    workloads = tmp_path / "workloads"
    variant = (
        '\n[[implementations]]\nlang = "rust"\nvariant = "fast"\npath = "grow"\nlibrary = "sh"\n'
    )
    add_workload(workloads, "grow", go=GROWING, extra=variant)
    common = ["--workloads-dir", str(workloads), "--results-dir", str(tmp_path / "results")]
    common += ["--cache-dir", str(tmp_path / "cache")]
    sweep_argv = ["sweep", "--workloads", "grow", "--param", "n=1,2", "--repetitions", "1"]
    sweep_argv += ["--pin", "none"]
    assert run_cli([*common, *sweep_argv], monkeypatch) == 0
    run = load_run(tmp_path / "results" / "latest.json")
    assert {i.key for w in run.workloads for i in w.implementations} == {
        "go/default",
        "rust/default",
    }
    assert run_cli([*common, *sweep_argv, "--variants"], monkeypatch) == 0
    run = load_run(tmp_path / "results" / "latest.json")
    assert {i.key for w in run.workloads for i in w.implementations} == {
        "go/default",
        "rust/default",
        "rust/fast",
    }


PICKY = """\
def generate(rng, n):
    if n > 2:
        raise ValueError(f"at most 2, got {n}")
    return b"x" * n
"""


def test_a_value_the_generator_rejects_fails_its_point_and_the_others_are_measured(
    tmp_path, monkeypatch
):
    workloads = tmp_path / "workloads"
    extra = '\n[input]\ngenerator = "picky"\nseed = 1\n'
    add_workload(workloads, "grow", go=GROWING, args=("{n}", "{input}"), extra=extra)
    (workloads / "generators").mkdir()
    (workloads / "generators" / "picky.py").write_text(PICKY)
    common = ["--workloads-dir", str(workloads), "--results-dir", str(tmp_path / "results")]
    common += ["--cache-dir", str(tmp_path / "cache")]
    argv = [*common, "sweep", "--workloads", "grow", "--param", "n=1,2,3", "--repetitions", "1"]
    assert run_cli([*argv, "--pin", "none"], monkeypatch) == 1
    run = load_run(tmp_path / "results" / "latest.json")
    status = {w.sweep.value: w.status for w in run.workloads}
    assert status == {"1": "ok", "2": "ok", "3": "failed"}
    (failed,) = [w for w in run.workloads if w.status == "failed"]
    assert "generate(n=3) failed: ValueError('at most 2, got 3')" in failed.error
