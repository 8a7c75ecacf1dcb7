import json
import os
from dataclasses import replace
from pathlib import Path

import jsonschema
import pytest
from builders import cpu_window, server_phase, server_workload, small_run, system_state

from harness.errors import HarnessError
from harness.model import StoppingRule
from harness.store import results as store
from harness.store.results import load_run, results_json_schema, run_to_json, save_run, write_atomic

SCHEMA_FILE = Path(store.__file__).parent / "schema" / "results-v12.schema.json"


def test_round_trip_equals_original(tmp_path):
    run = small_run()
    # the builder covers the awkward cases: nested tuples, dicts, None fields, a float extra
    go = run.workloads[0].implementations[0]
    assert go.repetitions[0].gc_cycles and go.repetitions[0].samples and go.repetitions[0].extra
    assert run.finished_at is not None and run.machine.git_commit is None
    rust = run.workloads[0].implementations[1]
    assert rust.repetitions[0].gc_cycles is None

    path = save_run(run, tmp_path)
    assert path == tmp_path / f"{run.run_id}.json"
    loaded = load_run(path)
    assert loaded == run
    assert isinstance(loaded.workloads[0].implementations[0].repetitions[0].gc_cycles, tuple)
    assert loaded.config.cpu_affinity == (0,)
    assert load_run(tmp_path / "latest.json") == run


def test_integer_json_numbers_become_floats(tmp_path):
    run = small_run()
    data = json.loads(run_to_json(run))
    data["workloads"][0]["implementations"][0]["repetitions"][0]["wall_seconds"] = 2
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    rep = load_run(path).workloads[0].implementations[0].repetitions[0]
    assert rep.wall_seconds == 2.0
    assert type(rep.wall_seconds) is float


def test_save_leaves_no_temporary_files(tmp_path):
    run = small_run()
    save_run(run, tmp_path)
    save_run(run, tmp_path)  # overwrite too
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f"{run.run_id}.json", "latest.json"]
    )


def test_write_atomic_failure_keeps_old_file_and_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    write_atomic(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(HarnessError, match="not found") as info:
        load_run(path)
    assert str(path) in str(info.value)


def test_load_not_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(HarnessError, match="not a readable results file"):
        load_run(path)


def test_load_without_schema_version(tmp_path):
    path = tmp_path / "r.json"
    data = json.loads(run_to_json(small_run()))
    del data["schema_version"]
    path.write_text(json.dumps(data))
    with pytest.raises(HarnessError, match="schema_version"):
        load_run(path)
    path.write_text("[1, 2]")
    with pytest.raises(HarnessError, match="schema_version"):
        load_run(path)


def test_load_refuses_newer_schema(tmp_path):
    path = tmp_path / "r.json"
    data = json.loads(run_to_json(small_run()))
    data["schema_version"] = store.SCHEMA_VERSION + 1
    path.write_text(json.dumps(data))
    with pytest.raises(HarnessError, match="newer than this harness") as info:
        load_run(path)
    assert str(path) in str(info.value)


def test_load_malformed_field(tmp_path):
    path = tmp_path / "r.json"
    data = json.loads(run_to_json(small_run()))
    data["status"] = "exploded"
    path.write_text(json.dumps(data))
    with pytest.raises(HarnessError, match="malformed results"):
        load_run(path)


def test_schema_validates_saved_run(tmp_path):
    path = save_run(small_run(), tmp_path)
    data = json.loads(path.read_text())
    validator = jsonschema.Draft202012Validator(results_json_schema())
    validator.validate(data)

    data["workloads"][0]["implementations"][0]["repetitions"][0]["peak_rss_bytes"] = "big"
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(data)


def noisy_run():
    """small_run with the noise readings of schema 3: the machine's state and a CPU window."""
    run = small_run()
    workload = replace(run.workloads[0], cpu_window=cpu_window(measured_steal=30))
    return replace(run, workloads=(workload,), system=system_state())


def test_noise_readings_round_trip_and_validate(tmp_path):
    run = noisy_run()
    path = save_run(run, tmp_path)
    loaded = load_run(path)
    assert loaded == run
    assert loaded.system.load_average == (0.25, 0.5, 0.75)
    assert loaded.system.isolated_cpus == () and loaded.system.nohz_full_cpus is None
    assert loaded.workloads[0].cpu_window.after[0].steal == 30
    jsonschema.Draft202012Validator(results_json_schema()).validate(json.loads(path.read_text()))


def test_version_2_file_reads_without_noise_readings(tmp_path):
    """A file written before the noise readings: system and cpu_window read as None."""
    data = json.loads(run_to_json(noisy_run()))
    data["schema_version"] = 2
    del data["system"]
    for workload in data["workloads"]:
        del workload["cpu_window"]
    path = tmp_path / "v2.json"
    path.write_text(json.dumps(data))
    run = load_run(path)
    assert run.schema_version == store.SCHEMA_VERSION == 12
    assert run.system is None
    assert run.workloads[0].cpu_window is None
    assert run.workloads[0].implementations == small_run().workloads[0].implementations


def test_version_3_server_phases_read_without_request_counts(tmp_path):
    """A server result written before schema 4: no request counts, load-generator wall time or
    transport settings; nothing else changes."""
    phase = server_phase(1000, 1000)
    workload = server_workload([phase], [phase])
    run = replace(small_run(), workloads=(workload,))
    data = json.loads(run_to_json(run))
    data["schema_version"] = 3
    for impl in data["workloads"][0]["implementations"]:
        del impl["transport"]
        for p in impl["phases"]:
            del p["request_counts"], p["loadgen_wall_seconds"]
    path = tmp_path / "v3.json"
    path.write_text(json.dumps(data))
    loaded = load_run(path)
    assert loaded.schema_version == store.SCHEMA_VERSION == 12
    assert loaded.workloads[0] == workload  # the builder leaves the new fields at their defaults
    assert loaded.workloads[0].implementations[0].phases[0].request_counts is None


def test_schema_rejects_other_version():
    data = json.loads(run_to_json(small_run()))
    data["schema_version"] = store.SCHEMA_VERSION + 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, results_json_schema())


def test_committed_schema_file_is_current():
    if not SCHEMA_FILE.exists():
        pytest.skip(f"{SCHEMA_FILE} not written yet")
    expected = json.dumps(results_json_schema(), indent=2, sort_keys=True) + "\n"
    assert SCHEMA_FILE.read_text() == expected


def test_version_1_file_reads_as_given_order_without_positions(tmp_path):
    """A file written before the recorded order: every new field takes its documented default."""
    data = json.loads(run_to_json(small_run()))
    data["schema_version"] = 1
    for key in ("order", "seed", "stopping"):
        del data["config"][key]
    del data["session_id"]
    for workload in data["workloads"]:
        del workload["rounds"]
        for impl in workload["implementations"]:
            for rep in impl["repetitions"]:
                for key in ("position", "predecessor", "started_at_seconds"):
                    del rep[key]
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(data))
    run = load_run(path)
    assert run.schema_version == store.SCHEMA_VERSION == 12
    assert (run.config.order, run.config.stopping, run.session_id) == ("given", None, None)
    rep = run.workloads[0].implementations[0].repetitions[0]
    assert (rep.position, rep.predecessor, rep.started_at_seconds) == (None, None, None)


def test_version_6_file_reads_without_cpu_flags_or_build_environment(tmp_path):
    """A file written before schema 7: no CPU flags ("not recorded", never "none"), no CPU
    features on the workloads and no build environment; nothing else changes."""
    run = small_run()
    data = json.loads(run_to_json(run))
    data["schema_version"] = 6
    del data["machine"]["cpu_flags"]
    for workload in data["workloads"]:
        del workload["cpu_features"]
        for impl in workload["implementations"]:
            del impl["build"]["environment"], impl["build"]["environment_changes"]
    path = tmp_path / "v6.json"
    path.write_text(json.dumps(data))
    loaded = load_run(path)
    assert loaded.schema_version == store.SCHEMA_VERSION == 12
    assert loaded.machine.cpu_flags is None
    assert loaded == run  # the builder leaves the new fields at their defaults


def test_version_7_budget_reads_as_the_whole_workloads(tmp_path):
    """Before schema 8 max_seconds was a workload's whole budget (and could stop it before its
    minimum of rounds); such files keep that meaning."""
    rule = StoppingRule(target_ci_half_width=0.02, max_rounds=40, max_seconds=60.0)
    run = small_run()
    data = json.loads(run_to_json(replace(run, config=replace(run.config, stopping=rule))))
    data["schema_version"] = 7
    del data["config"]["stopping"]["budget_per"]
    del data["config"]["stopping"]["budget_given"]
    path = tmp_path / "v7.json"
    path.write_text(json.dumps(data))
    loaded = load_run(path)
    assert loaded.schema_version == store.SCHEMA_VERSION
    assert (loaded.config.stopping.budget_per, loaded.config.stopping.budget_given) == (
        "workload",
        False,
    )
    assert StoppingRule(0.02, 40, 60.0).budget_per == "program"  # what new runs record
