"""Capacity projection: hand-computed cores, memory and cost; "not measured" rows; config errors."""

from dataclasses import replace

import pytest
from builders import (
    MIB,
    impl_result,
    repetition,
    replicated,
    run,
    server_phase,
    server_run,
    server_workload,
    workload_result,
)

from harness.analysis.capacity import (
    DEFAULT_CONFIG,
    GIB,
    SHIPPED_CONFIG_PATH,
    load_capacity_config,
    parse_capacity_config,
    project_capacity,
    qualifying_rate,
)
from harness.errors import HarnessError
from harness.model import WorkloadResult


def config_data(**overrides):
    data = {
        "hours_per_month": 730,
        "price_per_vcpu_hour": 0.05,
        "price_per_gb_hour": 0.01,
        "defaults": {
            "target_requests_per_second": 10_000,
            "target_bytes_per_second": 10_000_000,
            "target_items_per_second": 5_000,
            "headroom": 1.3,
            "cores_per_instance": 4,
        },
    }
    data.update(overrides)
    return data


def config(**overrides):
    return parse_capacity_config(config_data(**overrides), "capacity.toml")


# --- builders for server results (builders.py has batch ones only) ------------------------------


def batch_workload(name="demo", rust_status="ok", status="ok") -> WorkloadResult:
    # Go: CPU 1.0, 1.25, 0.8 s for 1e6 bytes -> 1.0e6, 0.8e6, 1.25e6 B/CPU-s, median 1e6.
    go_reps = [
        repetition(rep=0, user=0.8, sys=0.2, rss=512 * MIB),
        repetition(rep=1, user=1.0, sys=0.25, rss=600 * MIB),
        repetition(rep=2, user=0.6, sys=0.2, rss=500 * MIB),
        repetition(rep=3, ok=False, error="crashed"),  # a failed repetition is not counted
    ]
    rust_reps = [repetition(rep=i, user=0.4, sys=0.1, rss=256 * MIB) for i in range(3)]
    return workload_result(
        name=name,
        status=status,
        impls=[
            impl_result("go", reps=go_reps),
            impl_result("rust", reps=rust_reps, status=rust_status, error="exit 1"),
        ],
    )


# --- batch -----------------------------------------------------------------------------------


def test_batch_projection_hand_computed():
    projection = project_capacity(run([batch_workload()]), config())
    (row,) = projection.workloads
    assert (row.workload, row.unit, row.target_load, row.headroom) == ("demo", "bytes/s", 1e7, 1.3)

    go = row.go
    assert go.measured
    assert go.work_per_core_second == pytest.approx(1_000_000)
    assert go.peak_rss_per_process_bytes == 512 * MIB
    # 1e7 B/s x 1.3 / 1e6 B/CPU-s = 13 cores exactly (not 14 from float noise)
    assert go.cores_unrounded == pytest.approx(13.0)
    assert (go.cores, go.processes, go.instances) == (13, 13, 4)
    # 13 processes x 0.5 GiB x 1.3 = 8.45 GiB
    assert go.memory_bytes == pytest.approx(8.45 * GIB)
    assert go.cpu_cost_per_month == pytest.approx(13 * 0.05 * 730)  # 474.5
    assert go.memory_cost_per_month == pytest.approx(8.45 * 0.01 * 730)  # 61.685
    assert go.total_cost_per_month == pytest.approx(536.185)

    rust = row.rust
    assert rust.work_per_core_second == pytest.approx(2_000_000)
    assert rust.cores_unrounded == pytest.approx(6.5)
    assert (rust.cores, rust.processes, rust.instances) == (7, 7, 2)
    assert rust.memory_bytes == pytest.approx(2.275 * GIB)  # 7 x 0.25 GiB x 1.3
    assert rust.cpu_cost_per_month == pytest.approx(255.5)
    assert rust.memory_cost_per_month == pytest.approx(16.6075)
    assert rust.total_cost_per_month == pytest.approx(272.1075)

    assert row.go_rust_cost_ratio == pytest.approx(536.185 / 272.1075)


def test_items_workload_reads_the_items_target_and_counter():
    reps = [repetition(rep=i, user=0.4, sys=0.1, items=1000) for i in range(3)]  # 2000 items/CPU-s
    workload = workload_result(
        throughput="items", impls=[impl_result("go", reps=reps), impl_result("rust", reps=reps)]
    )
    (row,) = project_capacity(run([workload]), config()).workloads
    assert row.unit == "items/s"
    assert row.go.work_per_core_second == pytest.approx(2000)
    assert row.go.cores == 4  # ceil(5000 x 1.3 / 2000 = 3.25)
    assert row.go_rust_cost_ratio == pytest.approx(1.0)


def test_no_instance_shape_means_no_instance_count():
    data = config_data()
    del data["defaults"]["cores_per_instance"]
    (row,) = project_capacity(run([batch_workload()]), parse_capacity_config(data, "c")).workloads
    assert row.go.instances is None and row.go.cores == 13


def test_failed_implementation_is_not_measured():
    (row,) = project_capacity(run([batch_workload(rust_status="failed")]), config()).workloads
    assert row.go.measured and row.go.cores == 13
    rust = row.rust
    assert not rust.measured
    assert rust.basis == "failed: exit 1"
    assert rust.cores is None and rust.memory_bytes is None and rust.total_cost_per_month is None
    assert row.go_rust_cost_ratio is None


def test_diverging_pair_is_not_measured():
    workload = batch_workload(status="checksum_mismatch")
    (row,) = project_capacity(run([workload]), config()).workloads
    assert not row.go.measured and not row.rust.measured
    assert "differ" in row.go.basis


def test_missing_implementation_is_not_measured():
    workload = replace(batch_workload(), implementations=batch_workload().implementations[:1])
    (row,) = project_capacity(run([workload]), config()).workloads
    assert not row.rust.measured and row.rust.basis == "no rust/default result"


def test_all_repetitions_failed_is_not_measured():
    reps = [repetition(rep=0, ok=False, error="boom")]
    workload = workload_result(impls=[impl_result("go", reps=reps), impl_result("rust", reps=reps)])
    (row,) = project_capacity(run([workload]), config()).workloads
    assert not row.go.measured and "no successful repetition" in row.go.basis


# --- servers ---------------------------------------------------------------------------------


def test_server_projection_hand_computed():
    go = [
        server_phase(None, 3000, cpu=9.0),  # saturation probe: never used
        server_phase(1000, 1000, cpu=2.0),  # 0.2 busy cores -> 5000 req per core-second
        server_phase(2000, 1900, cpu=3.0),  # 95 % of offered: does not qualify
    ]
    rust = [
        server_phase(1000, 1000, cpu=1.0, rss=50 * MIB),
        server_phase(2000, 2000, cpu=2.5, rss=50 * MIB),  # 0.25 busy cores -> 8000 req/core-s
    ]
    cfg = config(price_per_vcpu_hour=0.04, price_per_gb_hour=0.005)
    cfg = replace(cfg, defaults=replace(cfg.defaults, headroom=1.2))
    (row,) = project_capacity(server_run([server_workload(go, rust)]), cfg).workloads
    assert (row.unit, row.target_load) == ("requests/s", 10_000)
    assert row.go.work_per_core_second == pytest.approx(5000)
    assert row.go.basis.startswith("1,000 req/s, 1 replicate: 200 µs server CPU per request")
    assert row.rust.work_per_core_second == pytest.approx(8000)
    # Go: 10000 x 1.2 / 5000 = 2.4 -> 3 cores; Rust: 1.5 -> 2 cores
    assert (row.go.cores, row.go.processes, row.go.instances) == (3, 3, 1)
    assert (row.rust.cores, row.rust.processes) == (2, 2)
    assert row.go.memory_bytes == pytest.approx(3 * 100 * MIB * 1.2)  # 360 MiB
    assert row.rust.memory_bytes == pytest.approx(2 * 50 * MIB * 1.2)  # 120 MiB
    assert row.go.cpu_cost_per_month == pytest.approx(87.6)
    assert row.go.memory_cost_per_month == pytest.approx(0.3515625 * 0.005 * 730)
    assert row.go.total_cost_per_month == pytest.approx(88.883203125)
    assert row.rust.total_cost_per_month == pytest.approx(58.4 + 0.427734375)
    assert row.go_rust_cost_ratio == pytest.approx(88.883203125 / 58.827734375)


def test_server_processes_follow_parallelism():
    go = [server_phase(1000, 1000, cpu=2.0)]  # 5000 req/core-s -> 3 cores at 1.3 headroom
    cfg = config()
    (row,) = project_capacity(server_run([server_workload(go, go)], parallelism=2), cfg).workloads
    assert row.go.cores == 3  # ceil(10000 x 1.3 / 5000 = 2.6)
    assert row.go.processes == 2  # two 2-core processes
    assert row.go.memory_bytes == pytest.approx(2 * 100 * MIB * 1.3)


def qualifying(*phases):
    found = qualifying_rate(replace(impl_result("go"), phases=phases))
    return None if found is None else found.offered_rps


def test_qualifying_rate_rules():
    assert qualifying(server_phase(None, 5000)) is None  # saturation is closed-loop
    assert qualifying(server_phase(1000, 989)) is None  # below 99 %
    assert qualifying(server_phase(1000, 990)) == 1000  # exactly 99 %
    assert qualifying(server_phase(1000, 1000, errors=1)) is None
    assert qualifying(server_phase(1000, 1000, ok=False)) is None
    assert qualifying(server_phase(1000, 1000, cpu=0.0)) is None
    assert qualifying(server_phase(1000, 1000), server_phase(3000, 3000)) == 3000


def test_server_projection_takes_medians_over_the_replicates_of_a_usable_rate():
    go = [
        *replicated(None, achieved=[9000, 9000, 9000], cpu=[9.0] * 3),  # probes: never used
        # 10,000 requests each: 200, 220, 180 µs CPU per request -> median 200 µs, 5000 req/core-s
        *replicated(
            1000, achieved=[1000] * 3, cpu=[2.0, 2.2, 1.8], rss=[100 * MIB, 120 * MIB, 80 * MIB]
        ),
        # cheaper per request, but replicate 3 fell behind: the rate does not qualify
        *replicated(2000, achieved=[2000, 2000, 1900], cpu=[1.0] * 3),
    ]
    (row,) = project_capacity(server_run([server_workload(go, go)]), config()).workloads
    assert row.go.work_per_core_second == pytest.approx(5000)
    assert row.go.peak_rss_per_process_bytes == pytest.approx(100 * MIB)
    assert row.go.basis.startswith("1,000 req/s, median of 3 replicates: 200 µs")


def test_server_without_a_qualifying_phase_is_not_measured():
    go = [server_phase(1000, 900)]
    rust = [server_phase(1000, 1000)]
    (row,) = project_capacity(server_run([server_workload(go, rust)]), config()).workloads
    assert not row.go.measured and "no offered rate where every replicate met it" in row.go.basis
    assert row.rust.measured and row.go_rust_cost_ratio is None


# --- configuration ---------------------------------------------------------------------------


def test_builtin_defaults_match_the_shipped_toml():
    shipped = load_capacity_config(SHIPPED_CONFIG_PATH)
    assert load_capacity_config(None) is DEFAULT_CONFIG
    assert replace(shipped, source=DEFAULT_CONFIG.source) == DEFAULT_CONFIG


def test_workload_table_overrides_defaults():
    cfg = config(workloads={"demo": {"target_bytes_per_second": 2e7, "headroom": 1.0}})
    settings = cfg.settings_for("demo")
    assert (settings.target_bytes_per_second, settings.headroom) == (2e7, 1.0)
    assert settings.cores_per_instance == 4  # inherited
    assert cfg.settings_for("other") == cfg.defaults
    (row,) = project_capacity(run([batch_workload()]), cfg).workloads
    assert row.go.cores == 20  # 2e7 x 1.0 / 1e6


def test_override_in_the_wrong_unit_names_file_and_field():
    cfg = config(workloads={"demo": {"target_items_per_second": 10}})
    with pytest.raises(
        HarnessError, match=r"capacity.toml \[workloads.demo\]: field 'target_items"
    ):
        project_capacity(run([batch_workload()]), cfg)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (config_data(headroom=1.5), r"^capacity.toml \(top level\): unknown field 'headroom'"),
        (config_data(price_per_vcpu_hour=-1), r"^capacity.toml: field 'price_per_vcpu_hour'"),
        (config_data(price_per_gb_hour="0.1"), r"^capacity.toml: field 'price_per_gb_hour'"),
        (config_data(hours_per_month=0), r"^capacity.toml: field 'hours_per_month'"),
        (config_data(hours_per_month=800), r"^capacity.toml: field 'hours_per_month'"),
        (config_data(defaults=5), r"^capacity.toml \[defaults\]: must be a table"),
        (config_data(workloads=[]), r"^capacity.toml: field 'workloads'"),
        (config_data(workloads={"x": {"headroom": 0.9}}), r"\[workloads.x\]: field 'headroom'"),
        (config_data(workloads={"x": {"cpus": 2}}), r"\[workloads.x\]: unknown field 'cpus'"),
    ],
)
def test_bad_config_names_file_and_field(data, message):
    with pytest.raises(HarnessError, match=message):
        parse_capacity_config(data, "capacity.toml")


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("headroom", 0.5, "field 'headroom' must be a number >= 1"),
        ("headroom", True, "field 'headroom' must be a number >= 1"),
        ("target_bytes_per_second", 0, "field 'target_bytes_per_second' must be a number > 0"),
        ("cores_per_instance", 0, "field 'cores_per_instance' must be an integer >= 1"),
        ("cores_per_instance", 2.5, "field 'cores_per_instance' must be an integer >= 1"),
        ("target_requests_per_second", None, "missing field 'target_requests_per_second'"),
    ],
)
def test_bad_defaults_name_the_field(key, value, message):
    data = config_data()
    if value is None:
        del data["defaults"][key]
    else:
        data["defaults"][key] = value
    with pytest.raises(HarnessError, match=r"^capacity.toml \[defaults\]: " + message):
        parse_capacity_config(data, "capacity.toml")


def test_missing_top_level_field():
    data = config_data()
    del data["price_per_gb_hour"]
    with pytest.raises(HarnessError, match=r"^capacity.toml: missing field 'price_per_gb_hour'"):
        parse_capacity_config(data, "capacity.toml")


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(HarnessError, match=r"nope\.toml: cannot read capacity config"):
        load_capacity_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("hours_per_month = \n")
    with pytest.raises(HarnessError, match=r"bad\.toml: not valid TOML"):
        load_capacity_config(bad)


def test_assumptions_are_stated():
    projection = project_capacity(run([batch_workload()]), DEFAULT_CONFIG)
    text = " ".join(projection.assumptions)
    assert "examples, not a quote" in text
    assert "730 hours" in text
    assert "CPU-second" in text and "GC" in text
    assert "quick run" in text  # builders.run_config is a quick run
    assert "Test CPU @ 3.0GHz" in text


def test_float_noise_does_not_add_a_core():
    # 3e6 x 1.1 / 1e5 is 33.00000000000001 in floating point: 33 cores, not 34.
    reps = [repetition(rep=i, user=0.8, sys=0.2, items=100_000) for i in range(3)]
    workload = workload_result(
        throughput="items", impls=[impl_result("go", reps=reps), impl_result("rust", reps=reps)]
    )
    cfg = config(workloads={"demo": {"target_items_per_second": 3e6, "headroom": 1.1}})
    (row,) = project_capacity(run([workload]), cfg).workloads
    assert row.go.cores == 33
