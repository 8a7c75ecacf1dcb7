import re
from pathlib import Path

import pytest

from harness.config import load_manifest, load_workloads, select
from harness.errors import HarnessError
from harness.model import Implementation, InputSpec, Workload

WORKLOADS_DIR = Path(__file__).resolve().parent.parent / "workloads"

VALID = """\
name = "json"
category = "parsing"
kind = "batch"
description = "Typed decode + re-encode"
throughput = "bytes"
args = ["{input}", "--docs={documents}"]

[input]
generator = "json_docs"
seed = 7

[params.full]
documents = 20000
[params.quick]
documents = 400

[[implementations]]
lang = "go"
variant = "default"
path = "json"
library = "encoding/json"

[[implementations]]
lang = "rust"
path = "json"
library = "serde_json"

[[implementations]]
lang = "go"
variant = "sonic"
path = "json-sonic"
library = "bytedance/sonic"
"""


def write(tmp_path, text, name="json"):
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def error_for(tmp_path, text, name="json") -> str:
    path = write(tmp_path, text, name)
    with pytest.raises(HarnessError) as info:
        load_manifest(path)
    message = str(info.value)
    assert str(path) in message  # every error names the file
    return message


def test_valid_manifest_loads(tmp_path):
    path = write(tmp_path, VALID)
    workload = load_manifest(path)
    assert isinstance(workload, Workload)
    assert workload.name == "json"
    assert workload.category == "parsing"
    assert workload.kind == "batch"
    assert workload.throughput == "bytes"
    assert workload.args == ("{input}", "--docs={documents}")
    assert workload.input == InputSpec(generator="json_docs", seed=7)
    assert workload.params == {"full": {"documents": 20000}, "quick": {"documents": 400}}
    assert workload.implementations == (
        Implementation("go", "default", "json", "encoding/json"),
        Implementation("rust", "default", "json", "serde_json"),  # variant defaults to "default"
        Implementation("go", "sonic", "json-sonic", "bytedance/sonic"),
    )
    assert workload.default_for("rust").library == "serde_json"
    assert workload.manifest_path == str(path)
    assert workload.server is None


def test_missing_field(tmp_path):
    message = error_for(tmp_path, VALID.replace('description = "Typed decode + re-encode"\n', ""))
    assert "'description'" in message
    assert "missing" in message


def test_missing_field_in_implementation(tmp_path):
    message = error_for(tmp_path, VALID.replace('library = "serde_json"\n', ""))
    assert "[[implementations]] #2" in message
    assert "'library'" in message


def test_wrong_type(tmp_path):
    message = error_for(
        tmp_path, VALID.replace('args = ["{input}", "--docs={documents}"]', 'args = "{input}"')
    )
    assert "'args'" in message
    assert "list" in message


def test_wrong_type_bool_is_not_int(tmp_path):
    message = error_for(tmp_path, VALID.replace("seed = 7", "seed = true"))
    assert "[input]" in message
    assert "'seed'" in message


def test_bad_category(tmp_path):
    message = error_for(tmp_path, VALID.replace('category = "parsing"', 'category = "fun"'))
    assert "'category'" in message
    assert "'fun'" in message


def test_duplicate_implementation(tmp_path):
    duplicate = (
        VALID + '\n[[implementations]]\nlang = "go"\nvariant = "sonic"\npath = "x"\nlibrary = "y"\n'
    )
    message = error_for(tmp_path, duplicate)
    assert "duplicate" in message
    assert "go/sonic" in message


def test_missing_rust_default(tmp_path):
    text = VALID.replace(
        'lang = "rust"\npath = "json"', 'lang = "rust"\nvariant = "fast"\npath = "json"'
    )
    message = error_for(tmp_path, text)
    assert "rust" in message
    assert "'default'" in message


def test_unknown_placeholder(tmp_path):
    message = error_for(tmp_path, VALID.replace("--docs={documents}", "--docs={docs}"))
    assert "'args'" in message
    assert "docs" in message


def test_empty_placeholder_is_rejected(tmp_path):
    # "{}" would otherwise pass validation and fail with a traceback when the args are filled
    message = error_for(tmp_path, VALID.replace("--docs={documents}", "--docs={}"))
    assert "'args'" in message


def test_input_placeholder_without_input_table(tmp_path):
    text = VALID.replace('[input]\ngenerator = "json_docs"\nseed = 7\n', "")
    message = error_for(tmp_path, text)
    assert "'args'" in message
    assert "{input}" in message
    assert "[input]" in message


def test_name_must_match_file_stem(tmp_path):
    message = error_for(tmp_path, VALID, name="other")
    assert "'name'" in message
    assert "'json'" in message
    assert "other.toml" in message


def test_invalid_toml(tmp_path):
    message = error_for(tmp_path, VALID + "\nthis is = = not toml\n")
    assert "not valid TOML" in message


def test_params_sizes_must_match(tmp_path):
    message = error_for(tmp_path, VALID.replace("documents = 400", "docs = 400"))
    assert "[params.full]" in message
    assert "[params.quick]" in message


def test_load_workloads_keyed_by_name(tmp_path):
    write(tmp_path, VALID)
    write(tmp_path, VALID.replace('name = "json"', 'name = "alpha"'), name="alpha")
    workloads = load_workloads(tmp_path)
    assert list(workloads) == ["alpha", "json"]


def test_load_workloads_missing_folder(tmp_path):
    with pytest.raises(HarnessError, match="workloads folder not found"):
        load_workloads(tmp_path / "nope")


def test_select(tmp_path):
    write(tmp_path, VALID)
    write(tmp_path, VALID.replace('name = "json"', 'name = "alpha"'), name="alpha")
    workloads = load_workloads(tmp_path)
    assert [w.name for w in select(workloads, None)] == ["alpha", "json"]
    assert [w.name for w in select(workloads, ["json", "json"])] == ["json"]
    with pytest.raises(HarnessError) as info:
        select(workloads, ["jsno"])
    message = str(info.value)
    assert "jsno" in message
    assert "known: alpha, json" in message


def test_real_manifests_load():
    if not WORKLOADS_DIR.is_dir() or not list(WORKLOADS_DIR.glob("*.toml")):
        pytest.skip("no workload manifests yet")
    workloads = load_workloads(WORKLOADS_DIR)
    assert set(workloads) == {p.stem for p in WORKLOADS_DIR.glob("*.toml")}
    for workload in workloads.values():
        assert workload.default_for("go").lang == "go"
        assert workload.default_for("rust").lang == "rust"


SERVER = (WORKLOADS_DIR / "http-json.toml").read_text()


@pytest.mark.parametrize(
    ("text", "name", "message"),
    [
        (
            VALID.replace("args = [", "repetitions = 20\nargs = ["),
            "json",
            r"\(top level\): unknown field 'repetitions' \(known: name, category,",
        ),
        (
            VALID.replace("seed = 7", "sed = 7"),
            "json",
            r"\[input\]: unknown field 'sed' \(did you mean 'seed'\?\)",
        ),
        (
            VALID.replace('library = "serde_json"', 'library = "serde_json"\nflags = "-O3"'),
            "json",
            r"\[\[implementations\]\] #2: unknown field 'flags' \(known: lang, variant, path, library, build, binary, links, limits, backend\)",
        ),
        (
            VALID.replace("[params.quick]", "[params.medium]\ndocuments = 1\n[params.quick]"),
            "json",
            r"\[params\]: unknown field 'medium' \(known: full, quick\)",
        ),
        (
            SERVER.replace('health = "/health"', 'health = "/health"\nhealth_timeout = 5'),
            "http-json",
            r"\[server\]: unknown field 'health_timeout' \(did you mean 'health'\?\)",
        ),
        (
            SERVER.replace("expect_status = 200", "expect_status = 200\nexpect = 200", 1),
            "http-json",
            r"\[\[server.requests\]\] #1: unknown field 'expect' \(did you mean 'expect_status'",
        ),
        (
            SERVER.replace("expect_status = 200", "expect_status = 200\nbody = 5", 1),
            "http-json",
            r"\[\[server.requests\]\] #1: field 'body' must be str, got 5",
        ),
        (
            VALID + '\n[server]\nhealth = "/health"\n',
            "json",
            r"a \[server\] table needs kind = 'server', got kind 'batch'",
        ),
    ],
)
def test_unknown_keys_are_refused_at_every_level(tmp_path, text, name, message):
    assert text != VALID and text != SERVER  # the replacement above took effect
    assert re.search(message, error_for(tmp_path, text, name))


def test_server_rates_can_be_fixed_per_size(tmp_path):
    write(tmp_path, SERVER + "\n[server.rates]\nquick = [2000, 1000]\n", "http-json")
    workload = load_workloads(tmp_path)["http-json"]
    assert workload.server is not None
    assert workload.server.rates_rps == {"quick": (1000.0, 2000.0)}


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ("quick = []", r"field 'quick' must be a non-empty list of rates above 0"),
        ("quick = [1000, -5]", r"field 'quick' must be a non-empty list of rates above 0"),
        ('quick = ["fast"]', r"field 'quick' must be a non-empty list of rates above 0"),
        ("quick = [1000, 1000]", r"field 'quick' lists a rate twice"),
        ("medium = [1000]", r"\[server.rates\]: unknown field 'medium' \(known: full, quick\)"),
    ],
)
def test_bad_server_rates_are_one_line_errors(tmp_path, rates, message):
    error = error_for(tmp_path, SERVER + f"\n[server.rates]\n{rates}\n", "http-json")
    assert "http-json.toml" in error and "\n" not in error
    assert re.search(message, error)


def test_cpu_features_are_read_and_spelled_as_the_kernel_does(tmp_path):
    with_features = VALID.replace(
        'throughput = "bytes"\n', 'throughput = "bytes"\ncpu_features = ["sha_ni", "avx2"]\n'
    )
    assert load_manifest(write(tmp_path, with_features)).cpu_features == ("sha_ni", "avx2")
    assert load_manifest(write(tmp_path, VALID)).cpu_features == ()
    message = error_for(tmp_path, with_features.replace('"sha_ni"', '"SHA-NI"'))
    assert "'cpu_features'" in message and "'SHA-NI'" in message
    message = error_for(tmp_path, with_features.replace('["sha_ni", "avx2"]', '"sha_ni"'))
    assert "'cpu_features'" in message


def test_sha256_declares_its_dependency_on_sha_ni():
    assert load_workloads(WORKLOADS_DIR)["sha256"].cpu_features == ("sha_ni",)


HYBRID = (
    VALID
    + """
[[implementations]]
lang = "go"
variant = "cgo-rust"
path = "json-cgo"
library = "serde_json through cgo"
links = "json-ffi"
"""
)


def test_links_marks_a_go_variant_as_a_go_rust_hybrid(tmp_path):
    workload = load_manifest(write(tmp_path, HYBRID))
    hybrid = workload.implementation("go/cgo-rust")
    assert hybrid.links == "json-ffi" and hybrid.label == "go+rust"
    assert workload.default_for("go").links is None and workload.default_for("go").label == "go"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'lang = "go"\nvariant = "cgo-rust"',
            'lang = "rust"\nvariant = "cgo-rust"',
            "needs lang = 'go'",
        ),
        ('variant = "cgo-rust"', 'variant = "default"', "needs a labelled variant"),
        ('links = "json-ffi"', 'links = "../json-ffi"', "must be a crate folder name"),
        (
            'links = "json-ffi"',
            'links = "json-ffi"\nbuild = ["make"]\nbinary = "bin/x"',
            "exclude each other",
        ),
    ],
)
def test_links_is_refused_where_it_cannot_mean_a_hybrid(tmp_path, old, new, message):
    text = HYBRID[: HYBRID.rindex("[[implementations]]")] + HYBRID[
        HYBRID.rindex("[[implementations]]") :
    ].replace(old, new)
    assert message in error_for(tmp_path, text)


def test_min_gc_cycles_is_read_and_checked(tmp_path):
    assert load_workloads(write_and_root(tmp_path, SERVER))["http-json"].server.min_gc_cycles == 0
    text = SERVER.replace('health = "/health"', 'health = "/health"\nmin_gc_cycles = 2')
    assert load_workloads(write_and_root(tmp_path, text))["http-json"].server.min_gc_cycles == 2
    for bad, message in (("-1", "must be 0 or more, got -1"), ('"two"', "must be int, got 'two'")):
        text = SERVER.replace('health = "/health"', f'health = "/health"\nmin_gc_cycles = {bad}')
        error = error_for(tmp_path, text, "http-json")
        assert "http-json.toml [server]: field 'min_gc_cycles' " + message in error
        assert "\n" not in error


def write_and_root(tmp_path, text):
    write(tmp_path, text, "http-json")
    return tmp_path


def test_many_tasks_sets_the_published_figures_its_doc_quotes_beside_its_full_size():
    """workloads/docs/many-tasks.md: the 2023 and 2024 figures at a million tasks, MB as MiB, are
    [[published]] entries matching the full size, where the report sets them beside ours."""
    workload = load_workloads(WORKLOADS_DIR)["many-tasks"]
    mib = 1 << 20
    assert {(f.metric, f.go, f.rust) for f in workload.published} == {
        ("peak_rss_bytes", round(2658 * mib), round(213.6 * mib)),  # 2023
        ("peak_rss_bytes", 2641592 * 1024, 326664 * 1024),  # 2024, join_all (KB)
        ("peak_rss_bytes", round(2585.5859375 * mib), round(439.08984375 * mib)),  # 2024 take 2
        ("wall_seconds", 10.83, 10.41),
    }
    for figure in workload.published:
        assert dict(figure.params) == {"tasks": workload.params["full"]["tasks"]}
        assert figure.differs and figure.url.startswith("https://")


def test_defaults_only_keeps_the_default_pair_and_the_back_ends_it_calls():
    """The smoke run's selection (`make bench QUICK=1`, `harness run --defaults-only`): a
    variant's back end is not built or started; one the defaults call (tcp-proxy's upstream) is."""
    from harness.cli.options import selection
    from harness.cli.parser import parser

    args = parser().parse_args(
        ["run", "--size", "quick", "--defaults-only", "--workloads", "json-service,tcp-proxy"]
    )
    service, proxy = selection(args)
    assert [i.key for i in service.implementations] == ["go/default", "rust/default"]
    assert service.backends == ()
    assert [i.key for i in proxy.implementations] == ["go/default", "rust/default"]
    assert [b.name for b in proxy.backends] == ["upstream"]
    every = selection(parser().parse_args(["build", "--workloads", "json-service"]))
    assert len(every[0].implementations) == 6 and len(every[0].backends) == 3
