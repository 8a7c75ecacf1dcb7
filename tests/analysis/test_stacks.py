"""Folding perf script output and putting samples in categories that compare across languages:
hand-made samples here, real perf output of both languages in tests/fixtures/profile/."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from harness.analysis import stacks
from harness.analysis.stacks import Owner

GO = Owner("go", ("main.", "gorust/workloads/"))
RUST = Owner("rust", ("json", "binarytrees", "serve"))

SCRIPT = """\
json 100/100
\t          4a1b2c runtime.memmove+0x1c (/bin/json-go)
\t          4b0000 encoding/json.(*decodeState).literalStore+0x20 (/bin/json-go)
\t          4c0000 main.main+0x30 (/bin/json-go)
\t          4d0000 runtime.main+0x40 (/bin/json-go)

json 100/101
\tffffffff81000000 clear_page_erms+0x10 ([kernel.kallsyms])
\tffffffff81000100 asm_exc_page_fault+0x26 ([kernel.kallsyms])
\t          4a0000 runtime.memclrNoHeapPointers+0x1 (/bin/json-go)
\t          4a0100 runtime.mallocgc+0x2 (/bin/json-go)
\t          4c0000 main.main+0x30 (/bin/json-go)

json 100/102
\t          4e0000 runtime.scanobject+0x5 (/bin/json-go)
\t          4e0100 runtime.gcDrain+0x5 (/bin/json-go)
\t          4e0200 runtime.gcBgMarkWorker+0x5 (/bin/json-go)
\t          4e0300 runtime.goexit.abi0+0x1 (/bin/json-go)

gorust-spawn 99/99
\t          100000 main+0x1 (/cache/bin/gorust-spawn)

json 100/100
\t          4f0000 [unknown] (/bin/json-go)
\t          4c0000 main.main+0x30 (/bin/json-go)

"""


def test_folds_the_samples_of_one_process_root_first():
    folded = stacks.fold_perf_script(SCRIPT, pids={100}, binary="/bin/json-go")
    assert folded.samples == 4  # the launcher's sample is another process
    assert folded.stacks[
        "runtime.main;main.main;encoding/json.(*decodeState).literalStore;runtime.memmove"
    ] == 1
    assert (
        "main.main;runtime.mallocgc;runtime.memclrNoHeapPointers;"
        "asm_exc_page_fault_[k];clear_page_erms_[k]"
    ) in folded.stacks
    assert folded.unnamed_in_binary == 1  # the [unknown] leaf inside the binary
    assert "main.main;[json-go]" in folded.stacks


def test_every_process_when_no_pid_is_given():
    assert stacks.fold_perf_script(SCRIPT).samples == 5


def test_frame_names_drop_offsets_and_rust_hashes_and_mark_the_kernel():
    assert stacks.frame_name("serde_json::de::from_slice::h0123456789abcdef+0x1f", "/b") == (
        "serde_json::de::from_slice"
    )
    assert stacks.frame_name("do_syscall_64+0x5", "[kernel.kallsyms]") == "do_syscall_64_[k]"
    assert stacks.frame_name("[unknown]", "[unknown]", 0xFFFFFFFF81000000) == "[unknown]_[k]"
    assert stacks.frame_name("[unknown]", "/usr/lib/x86_64-linux-gnu/libc.so.6") == "[libc.so.6]"
    assert stacks.frame_name("a;b", "/b") == "a:b"  # ';' separates frames in folded stacks
    assert stacks.frame_name("cfree@GLIBC_2.2.5", "/lib/libc.so.6") == "cfree"


@pytest.mark.parametrize(
    ("stack", "owner", "category"),
    [
        # Go: a memmove counts for its caller, the library
        ("main.main;encoding/json.(*decodeState).object;runtime.memmove", GO, "library"),
        ("main.main;runtime.mallocgc;runtime.memclrNoHeapPointers", GO, "allocator"),
        ("main.main;runtime.growslice;runtime.mallocgc", GO, "allocator"),
        ("runtime.goexit;runtime.gcBgMarkWorker;runtime.gcDrain;runtime.scanobject", GO, "gc_runtime"),
        # an assist inside an allocation is GC work, the innermost category wins
        ("main.main;runtime.mallocgc;runtime.gcAssistAlloc;runtime.gcDrainN", GO, "gc_runtime"),
        ("main.main;main.bottomUp", GO, "own"),
        ("main.main;gorust/workloads/internal/serve.Handle", GO, "own"),
        ("main.main;runtime.mapaccess2_faststr", GO, "own"),  # map helpers serve the caller
        ("runtime.mstart;runtime.mstart1;runtime.sysmon;runtime.usleep", GO, "gc_runtime"),
        ("runtime.rt0_go;runtime.newosproc", GO, "gc_runtime"),  # runtime frames only
        ("main.main;syscall.Syscall;entry_SYSCALL_64_[k];do_syscall_64_[k]", GO, "kernel"),
        # Rust
        ("main;json::main;serde_json::de::from_slice;__memmove_avx_unaligned_erms", RUST, "library"),
        ("main;binarytrees::make;__rust_alloc;malloc;_int_malloc", RUST, "allocator"),
        ("main;binarytrees::make;alloc::raw_vec::finish_grow;realloc", RUST, "allocator"),
        ("main;binarytrees::check", RUST, "own"),
        ("main;json::main;<json::Tweet as serde::de::Deserialize>::deserialize", RUST, "library"),
        ("main;json::main;<json::Tweet as core::clone::Clone>::clone", RUST, "own"),
        ("json::main;json::_::<impl serde_core::ser::Serialize for json::Tweet>::serialize", RUST, "library"),
        ("main;binarytrees::bottom_up;__rustc::__rdl_alloc_zeroed", RUST, "allocator"),
        ("main;binarytrees::main;unlink_chunk.constprop.0", RUST, "allocator"),
        ("std::rt::lang_start;core::ops::function::FnOnce::call_once;binarytrees::main", RUST, "own"),
        ("start_thread;tokio::runtime::scheduler::multi_thread::worker::run", RUST, "gc_runtime"),
        ("start_thread;mio::poll::Poll::poll;epoll_wait;do_epoll_wait_[k]", RUST, "kernel"),
        ("_start;__libc_start_main;[unknown]", RUST, "other"),
    ],
)
def test_categories(stack, owner, category):
    assert stacks.stack_category(stack, owner) == category


def test_category_samples_cover_every_category_and_every_sample():
    folded = stacks.fold_perf_script(SCRIPT, pids={100})
    counts = stacks.category_samples(folded.stacks, GO)
    assert list(counts) == list(stacks.CATEGORIES)
    assert counts == {
        "gc_runtime": 1,
        "allocator": 0,
        "kernel": 1,  # the page fault under mallocgc: its leaf is in the kernel
        "library": 1,
        "own": 1,  # main.main calling an unnamed frame
        "other": 0,
    }
    assert sum(stacks.shares(counts).values()) == pytest.approx(1.0)


def test_top_self_time_ranks_leaves_with_their_category():
    folded = {"a;b;leaf1": 5, "a;leaf1": 2, "a;b;c": 3, "runtime.gcBgMarkWorker;runtime.scanobject": 1}
    top = stacks.top_self(folded, GO, 2)
    assert [(t.frame, t.samples) for t in top] == [("leaf1", 7), ("c", 3)]
    assert top[0].share == pytest.approx(7 / 11)
    assert stacks.top_self(folded, GO, 10)[-1].category == "gc_runtime"


def test_flame_layout_nests_children_inside_parents():
    rects, total = stacks.flame_layout({"a;b": 3, "a;c": 1, "d": 1}, GO)
    assert total == 5
    boxes = {(r.frame, r.depth): (r.start, r.width) for r in rects}
    assert boxes == {("a", 0): (0, 4), ("b", 1): (0, 3), ("c", 1): (3, 1), ("d", 0): (4, 1)}
    narrow, _ = stacks.flame_layout({"a;b": 99, "a;c": 1}, GO, min_share=0.05)
    assert {r.frame for r in narrow} == {"a", "b"}  # c is under 5 %, still inside a's width
    assert next(r for r in narrow if r.frame == "a").width == 100


def test_folded_text_round_trips_and_bad_lines_are_named():
    text = stacks.to_folded({"a;b": 3, "c": 1})
    assert text == "a;b 3\nc 1\n"
    assert stacks.parse_folded(text + "a;b 2\n") == {"a;b": 5, "c": 1}
    with pytest.raises(ValueError, match="line 1"):
        stacks.parse_folded("a;b three\n")


def test_owners_for_each_language():
    assert stacks.owners_for("go", "gorust/workloads", []).prefixes == ("main.", "gorust/workloads/")
    assert stacks.owners_for("rust", None, ["http-json", "serve"]).prefixes == ("http_json", "serve")


# --- real perf output of both languages (tests/fixtures/profile/README.md) ----------------------

FIXTURES = Path(__file__).parents[1] / "fixtures" / "profile"
RUST_CRATES = ("binarytrees", "json", "serve")


def _fixture(name: str, lang: str) -> tuple[stacks.Folded, dict[str, float]]:
    text = gzip.decompress((FIXTURES / f"{name}.perf-script.txt.gz").read_bytes()).decode()
    folded = stacks.fold_perf_script(text)
    owner = stacks.owners_for(lang, "gorust/workloads", RUST_CRATES)
    return folded, stacks.shares(stacks.category_samples(folded.stacks, owner))


def test_go_binarytrees_spends_its_time_allocating_and_collecting():
    folded, share = _fixture("go-binarytrees", "go")
    assert folded.samples == 381 and folded.unnamed_in_binary == 0
    assert share["allocator"] > 0.35  # mallocgc and its heap bits
    assert share["gc_runtime"] > 0.10  # marking (gcmarknewobject, scanobject ...)
    assert share["own"] > 0.05  # main.bottomUp, (*Node).check
    assert share["other"] < 0.06  # taskset's loader start-up only
    frames = {f for s in folded.stacks for f in s.split(";")}
    assert "main.bottomUp" in frames and "runtime.mallocgc" in frames
    assert any(f.endswith("_[k]") for f in frames)


def test_rust_binarytrees_has_no_gc_and_frees_through_malloc():
    folded, share = _fixture("rust-binarytrees", "rust")
    assert folded.samples == 271
    assert share["gc_runtime"] == 0
    assert share["allocator"] > 0.45  # malloc, _int_free ... and dropping the boxes
    assert share["own"] > 0.10
    frames = {f for s in folded.stacks for f in s.split(";")}
    assert "binarytrees::bottom_up" in frames
    assert not any(re.search(r"::h[0-9a-f]{16}$", f) for f in frames)  # hashes dropped


def test_json_is_mostly_the_library_on_both_sides():
    _, go = _fixture("go-json", "go")
    _, rust = _fixture("rust-json", "rust")
    for share in (go, rust):
        assert share["library"] == max(share.values())  # encoding/json, serde_json
    assert go["gc_runtime"] > 0 and rust["gc_runtime"] == 0
