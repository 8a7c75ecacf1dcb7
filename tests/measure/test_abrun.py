"""Interleaved A/B: the base commit and the working tree measured in one run."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from builders import impl_result, workload, workload_result

from harness.cli import main as cli
from harness.cli.gate import EXIT_INCONCLUSIVE
from harness.measure import ab as abrun
from harness.model import BackendSpec, Implementation, ServerSpec


def test_combined_pairs_each_base_implementation_with_its_head():
    combined = abrun.combined(
        workload(impls=(("go", "default"), ("rust", "default"), ("rust", "fast")))
    )
    assert [i.key for i in combined.implementations] == [
        "go/default-base",
        "go/default",
        "rust/default-base",
        "rust/default",
        "rust/fast-base",
        "rust/fast",
    ]


def test_split_restores_variant_names_and_judges_each_side():
    result = workload_result(
        impls=[
            impl_result("go", "default-base"),
            impl_result("go"),
            impl_result("rust", "default-base", status="failed", error="exit status 1"),
            impl_result("rust"),
        ]
    )
    base, head = abrun.split(result)
    assert [i.key for i in base.implementations] == ["go/default", "rust/default"]
    assert all(i.build.variant == "default" for i in base.implementations)
    assert base.status == "failed" and "rust/default: exit status 1" in base.error
    assert [i.key for i in head.implementations] == ["go/default", "rust/default"]
    assert head.status == "ok" and head.error is None


ROOT = Path(__file__).resolve().parents[2]


def ab_against_head(results: Path, *options: str) -> int:
    """`harness ab HEAD OPTIONS` through the real CLI, with this checkout's build cache.

    The tests that call it take `shared_cargo_target` (tests/conftest.py): the suite's shared build
    has compiled the head's programs, and the base commit's worktree builds with the same Cargo
    target folder, so its crates' dependencies are reused rather than compiled there from nothing
    (with a base identical to the head, the base's binaries are cache hits outright)."""
    return cli.main(
        ["--results-dir", str(results), "--cache-dir", str(ROOT / ".cache"), "ab", "HEAD", *options]
    )


@pytest.mark.e2e
def test_ab_against_head_measures_both_sides_and_leaves_no_worktree(
    tmp_path, capsys, shared_cargo_target
):
    code = ab_against_head(
        tmp_path,
        "--workloads",
        "binarytrees",
        "--size",
        "quick",
        "--repetitions",
        "4",
        "--format",
        "json",
    )
    # 4 paired rounds: the signed-rank test's smallest p is 2 / 2**4 = 0.125, so no change of any
    # size could be called, and the gate says so rather than pass (exit 3)
    assert code == EXIT_INCONCLUSIVE
    files = sorted((tmp_path / "ab").glob("*.json"))
    assert [f.name.rsplit("-", 1)[-1] for f in files] == ["base.json", "head.json"]
    for path in files:
        run = json.loads(path.read_text())
        (result,) = run["workloads"]
        assert result["status"] == "ok"
        assert [i["variant"] for i in result["implementations"]] == [
            "default",
            "default",
            "bumpalo",
            "mimalloc",
            "jemalloc",
        ]
        assert all(len(i["repetitions"]) == 4 for i in result["implementations"])
        assert run["config"]["order"] == "latin"
        # base and head of all five programs share each round: ten slots
        slots = {r["position"] for i in result["implementations"] for r in i["repetitions"]}
        assert slots <= set(range(10)) and len(slots) > 1
    sessions = {json.loads(path.read_text())["session_id"] for path in files}
    assert len(sessions) == 1 and None not in sessions  # so compare pairs them by round
    changes = json.loads(capsys.readouterr().out)["changes"]
    assert changes and all("signed-rank" in c["method"] for c in changes)
    targeted = [c for c in changes if c["targeted"]]
    assert {c["metric"] for c in targeted} == {"work_seconds"}
    assert all(c["verdict"] == "inconclusive" and c["detectable_change"] is None for c in targeted)
    worktrees = subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert "gorust-base-" not in worktrees


@pytest.mark.e2e
def test_ab_drives_base_and_head_servers_at_the_same_rates_in_the_same_replicates(
    tmp_path, capsys, shared_cargo_target
):
    code = ab_against_head(
        tmp_path,
        "--workloads",
        "http-json",
        "--size",
        "quick",
        "--rates",
        "1500,3000",
        "--replicates",
        "2",
        "--phase-seconds",
        "1",  # what is checked is who ran when, not the latencies: short phases suffice
        "--format",
        "json",
    )
    assert code in (0, 1, 3)  # the verdict is the gate's; here: both sides measured alike
    files = sorted((tmp_path / "ab").glob("*.json"))
    assert [f.name.rsplit("-", 1)[-1] for f in files] == ["base.json", "head.json"]
    sides = [json.loads(path.read_text()) for path in files]
    for run in sides:
        (result,) = run["workloads"]
        assert result["status"] == "ok", result["error"]
        assert result["offered_rates_rps"] == [1500.0, 3000.0]
        assert result["rates_source"] == "fixed on the command line (--rates)"
        assert [i["variant"] for i in result["implementations"]] == ["default", "default"]
        for impl in result["implementations"]:
            measured = [
                (p["offered_rps"], p["replicate"]) for p in impl["phases"] if p["replicate"]
            ]
            # quick: no closed-loop probe per replicate (the selection pass's probe stands)
            assert sorted(measured, key=str) == sorted(
                [(1500.0, 1), (3000.0, 1), (3000.0, 2), (1500.0, 2)], key=str
            )
    assert sides[0]["session_id"] == sides[1]["session_id"] is not None
    assert sides[0]["config"]["server"]["replicates"] == 2


@pytest.mark.e2e
def test_ab_whose_chosen_budget_cannot_fit_the_minimum_stops_before_measuring(
    tmp_path, capsys, shared_cargo_target
):
    """--max-seconds far below what 20 rounds need: a one-line error after the warm-up round,
    before any measured round, and no results saved as if the gate had run."""
    code = ab_against_head(
        tmp_path,
        "--workloads",
        "binarytrees",
        "--size",
        "quick",
        "--max-seconds",
        "0.001",
    )
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("harness: error: --max-seconds: 0.001 s per program")
    assert "cannot fit the minimum of 20 rounds" in err[-1]
    assert not list((tmp_path / "ab").glob("*.json"))


def test_combined_gives_the_base_side_the_base_commits_back_end():
    upstream = BackendSpec(
        name="upstream",
        implementation=Implementation(
            lang="rust", variant="backend-upstream", path="http-json", library="axum"
        ),
        args=("--port", "{port}"),
        transport="tcp",
        protocol="http",
    )
    pair = replace(workload(), backends=(upstream,))
    pair = replace(pair, server=ServerSpec(health="/health", requests=(), backend="upstream"))
    both = abrun.combined(pair)
    base, head = both.implementations[0], both.implementations[1]
    assert both.backend_of(head) == upstream
    assert both.backend_of(base).key == abrun.base_backend_key(upstream.key)
    assert both.backend_of(base).key == "rust/backend-upstream-base"
