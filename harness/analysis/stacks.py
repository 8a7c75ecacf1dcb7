"""CPU profiles as folded stacks, and the categories that compare across Go and Rust: pure functions.

`fold_perf_script` turns `perf script` text (one sample per block: a header line, then one frame
per line, leaf first) into folded stacks, "root;...;leaf" with a sample count, the format
FlameGraph and inferno read. Kernel frames get the `_[k]` suffix FlameGraph uses, Rust's symbol
hashes (`::h0123456789abcdef`) are dropped so one function is one frame, and a frame perf could
not name keeps its module in brackets (`[libc.so.6]`) or is `[unknown]`.

`categorise` assigns each sample to one category, so the two languages are compared in the same
terms:

- gc_runtime: the language runtime's own work: Go's collector (mark workers, assists, sweeping,
  write barriers, scavenger) and scheduler (schedule, park, netpoll, sysmon, stack growth); for
  Rust, the async runtime's scheduler and I/O driver (tokio::runtime, mio);
- allocator: getting and returning memory: Go's mallocgc and its caches, growslice; Rust's global
  allocator (glibc malloc/free, mimalloc, jemalloc), __rust_alloc and RawVec growth;
- kernel: samples whose leaf is in the kernel (system calls, page faults, scheduling);
- library: code of the standard library or a third-party package (encoding/json, serde_json,
  compress/flate, miniz_oxide, net/http, hyper ...): the library doing the work;
- own: the program's own code (Go package main and the workloads module; the workspace's crates);
- other: samples none of the rules place (unnamed frames only, start-up code).

A sample's category is the innermost frame that belongs to one: walking from the leaf towards
the root, frames that only move or compare memory for whoever called them (memmove, memclr,
memequal, map and string helpers, libc's mem* functions, unnamed frames) are passed over, so a
memmove inside encoding/json counts as encoding/json and a memclr inside mallocgc as the
allocator. A leaf in the kernel is kernel whatever called it. Rust code generated into the
program's crate for a library's trait (`<app::Tweet as serde::Deserialize>::deserialize`) counts
as that library: it is the library's machinery, monomorphised where it is used.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

CATEGORIES = ("gc_runtime", "allocator", "kernel", "library", "own", "other")
CATEGORY_LABELS = {
    "gc_runtime": "GC and runtime",
    "allocator": "allocator",
    "kernel": "kernel and syscalls",
    "library": "libraries",
    "own": "own code",
    "other": "other",
}
KERNEL_SUFFIX = "_[k]"
UNKNOWN = "[unknown]"

# --- perf script -> folded stacks -----------------------------------------------------------------

# `comm pid/tid` (perf script -F comm,pid,tid,ip,sym,dso); comm may hold spaces.
_HEADER = re.compile(r"^(?P<comm>.*?)\s+(?P<pid>\d+)/(?P<tid>\d+)\s*:?\s*$")
# `<tab>ADDRESS SYMBOL (DSO)`; the symbol may hold spaces and parentheses, the DSO does not.
_FRAME = re.compile(r"^\s+(?P<addr>[0-9a-f]+)\s+(?P<sym>.*?)\s+\((?P<dso>[^()]*)\)\s*$")
_RUST_HASH = re.compile(r"::h[0-9a-f]{16}$")
_SYMBOL_VERSION = re.compile(r"@@?[A-Z][A-Za-z0-9_.]*$")  # cfree@GLIBC_2.2.5
_CLONE_SUFFIX = re.compile(r"(\.(constprop|isra|part|cold|lto_priv)(\.\d+)?)+$")  # gcc clones
_OFFSET = re.compile(r"\+0x[0-9a-f]+$")


@dataclass(frozen=True)
class Folded:
    """One process's samples as folded stacks, plus what perf could not resolve."""

    stacks: dict[str, int]  # "root;...;leaf" -> samples
    samples: int
    unnamed_in_binary: int  # samples whose leaf is in `binary` but has no symbol


KERNEL_ADDRESS = 0xFFFF800000000000  # x86-64: the upper half of the address space


def frame_name(symbol: str, dso: str, address: int = 0) -> str:
    """The folded name of one frame: kernel frames marked, Rust hashes and offsets dropped."""
    name = _OFFSET.sub("", symbol.strip())
    kernel = dso.startswith("[kernel") or address >= KERNEL_ADDRESS
    if not name or name == UNKNOWN:
        base = dso.rsplit("/", 1)[-1] if dso and dso != UNKNOWN else ""
        name = f"[{base}]" if base else UNKNOWN
    name = _SYMBOL_VERSION.sub("", _RUST_HASH.sub("", name)).replace(";", ":")
    return name + KERNEL_SUFFIX if kernel else name


def fold_perf_script(
    text: str, pids: Collection[int] | None = None, binary: str | None = None
) -> Folded:
    """Folded stacks of the samples of the processes `pids` (every process when None). `binary`
    is the profiled program's path: its unnamed frames mean missing symbols, which the caller
    reports."""
    stacks: Counter[str] = Counter()
    samples = unnamed = 0
    frames: list[str] = []
    leaf_unnamed = False
    keep = False
    in_sample = False

    def flush() -> None:
        nonlocal samples, unnamed
        if keep and frames:
            stacks[";".join(reversed(frames))] += 1
            samples += 1
            unnamed += leaf_unnamed

    for line in text.splitlines():
        if not line.strip():
            if in_sample:
                flush()
            in_sample, frames, keep = False, [], False
            continue
        if not line[0].isspace():
            if in_sample:
                flush()
            header = _HEADER.match(line)
            in_sample, frames, leaf_unnamed = True, [], False
            keep = header is not None and (pids is None or int(header["pid"]) in pids)
            continue
        frame = _FRAME.match(line)
        if frame is None or not keep:
            continue
        name = frame_name(frame["sym"], frame["dso"], int(frame["addr"], 16))
        if not frames and binary is not None:
            leaf_unnamed = frame["dso"] == binary and name.startswith("[")
        frames.append(name)
    if in_sample:
        flush()
    return Folded(stacks=dict(stacks), samples=samples, unnamed_in_binary=unnamed)


# --- categories ---------------------------------------------------------------------------------

# Go: the collector, the scheduler and the allocator, by function name prefix (runtime.*).
_GO_GC = (
    "runtime.gc",
    "runtime.(*gc",
    "runtime.mark",
    "runtime.scan",
    "runtime.greyobject",
    "runtime.findObject",
    "runtime.wbBuf",
    "runtime.bulkBarrier",
    "runtime.sweep",
    "runtime.bgsweep",
    "runtime.(*sweep",
    "runtime.(*mspan).sweep",
    "runtime.bgscavenge",
    "runtime.(*scavenger",
    "runtime.(*pageAlloc).scavenge",
    "runtime.spanOf",
    "runtime.typePointers",
    "runtime.(*mspan).typePointers",
    "runtime.(*mspan).heapBits",
    "runtime.tryDeferToSpanScan",
    "runtime.(*spanInlineMarkBits)",
    "runtime.(*spanSPMC",
    "runtime.(*gcBits)",
    "runtime.forEachP",
    "runtime.stopTheWorld",
    "runtime.startTheWorld",
    "runtime.finishsweep",
    "runtime.clearpools",
    "runtime.setGCPhase",
    "gcWriteBarrier",
)
_GO_SCHEDULER = (
    "runtime.schedule",
    "runtime.findRunnable",
    "runtime.mcall",
    "runtime.park_m",
    "runtime.gopark",
    "runtime.goready",
    "runtime.ready",
    "runtime.runq",
    "runtime.netpoll",
    "runtime.sysmon",
    "runtime.usleep",
    "runtime.futex",
    "runtime.note",
    "runtime.stopm",
    "runtime.startm",
    "runtime.wakep",
    "runtime.handoffp",
    "runtime.entersyscall",
    "runtime.exitsyscall",
    "runtime.reentersyscall",
    "runtime.morestack",
    "runtime.newstack",
    "runtime.copystack",
    "runtime.goexit0",
    "runtime.newproc",
    "runtime.casgstatus",
    "runtime.checkTimers",
    "runtime.(*timers)",
    "runtime.procyield",
    "runtime.osyield",
    "runtime.semacquire",
    "runtime.semrelease",
    "runtime.mPark",
    "runtime.resetspinning",
    "runtime.execute",
    "runtime.gogo",
    "runtime.goschedImpl",
    "runtime.gosched",
    "runtime.preempt",
    "runtime.asyncPreempt",
    "runtime.sighandler",
    "runtime.sigtramp",
    "runtime.signalM",
    "runtime.nanotime",
    "runtime.walltime",
    "runtime.lock",
    "runtime.unlock",
    "runtime.pidle",
    "runtime.(*randomEnum)",
    "runtime.stealWork",
    "runtime.(*pollDesc)",
    "runtime.poll_runtime",
    "internal/poll.runtime_poll",
)
_GO_ALLOCATOR = (
    "runtime.mallocgc",
    "runtime.newobject",
    "runtime.newarray",
    "runtime.makeslice",
    "runtime.growslice",
    "runtime.makemap",
    "runtime.(*mcache)",
    "runtime.(*mcentral)",
    "runtime.(*mheap)",
    "runtime.(*mspan).nextFreeIndex",
    "runtime.(*mspan).init",
    "runtime.(*pageAlloc)",
    "runtime.nextFreeFast",
    "runtime.heapSetType",
    "runtime.heapBitsSetType",
    "runtime.(*mspan).writeHeapBits",
    "runtime.(*fixalloc)",
    "runtime.persistentalloc",
    "runtime.sysAlloc",
    "runtime.sysUsed",
    "runtime.sysMap",
    "runtime.rawstring",
    "runtime.rawbyteslice",
    "runtime.rawruneslice",
    "runtime.deductAssistCredit",
    "runtime.memclrNoHeapPointersChunked",
    "runtime.stackalloc",
    "runtime.stackfree",
)
# Go packages that only serve whoever called them: passed over, like memmove.
_GO_PASS = ("runtime.", "internal/runtime/", "internal/bytealg.", "type:.", "type..", "go:")

_LIBC_ALLOCATOR = {
    "malloc",
    "free",
    "cfree",
    "realloc",
    "calloc",
    "posix_memalign",
    "aligned_alloc",
    "memalign",
    "malloc_consolidate",
    "sysmalloc",
    "unlink_chunk",
    "alloc_perturb",
    "_int_malloc",
    "_int_free",
    "_int_realloc",
    "_int_memalign",
    "__libc_malloc",
    "__libc_free",
    "__libc_realloc",
    "__libc_calloc",
    "__default_morecore",
    "__glibc_morecore",
    "tcache_get",
    "tcache_put",
    "tcache_init",
    "_int_free_merge_chunk",
    "_int_free_create_chunk",
    "_int_free_maybe_consolidate",
    "arena_get2",
    "__rust_alloc",
    "__rust_dealloc",
    "__rust_realloc",
    "__rust_alloc_zeroed",
    "__rdl_alloc",
    "__rdl_dealloc",
    "__rdl_realloc",
    "__rdl_alloc_zeroed",
}
_RUST_ALLOCATOR = (
    "core::ptr::drop_in_place<alloc::boxed::Box<",  # freeing a box: Rust's side of sweeping
    "alloc::alloc::",
    "<alloc::alloc::Global as core::alloc::Allocator>",
    "alloc::raw_vec::",
    "<alloc::raw_vec::",
    "mi_",
    "_mi_",
    "mimalloc::",
    "<mimalloc::",
    "_rjem_",
    "je_",
    "tikv_jemallocator::",
    "<tikv_jemallocator::",
    "__rust_",
    "__rdl_",
)
_RUST_RUNTIME = ("tokio::runtime::", "<tokio::runtime::", "mio::", "<mio::", "tokio::park::")
# libc and start-up frames that only serve their caller (or only start the program).
_C_PASS = (
    "__mem",
    "memcpy",
    "memmove",
    "memset",
    "memcmp",
    "bcmp",
    "__strlen",
    "strlen",
    "__nss_database_lookup",
    "_start",
    "__libc_start",
    "main",
    "start_thread",
    "clone",
    "clone3",
    "__GI_",
    "__libc_",
    "__syscall",
    "syscall",
    "__lll_",
    "__futex",
    "pthread_",
    "__pthread",
    "__clock_gettime",
    "clock_gettime",
    "__vdso",
    "[",
)
_RUST_PASS = (
    "std::rt::",
    "std::sys::backtrace::",
    "std::panicking::",
    "std::panic::",
    "core::ops::function::",
    "<core::ops::function::",
    "std::sys::pal::unix::thread::",
    "std::sys::thread::",
    "core::ptr::",
    "<alloc::boxed::Box<F,A> as core::ops::function::FnOnce",
)


@dataclass(frozen=True)
class Owner:
    """What counts as the program's own code: Go package prefixes (main., the workloads module)
    or Rust crate names (the workspace's crates, '-' as '_')."""

    lang: str
    prefixes: tuple[str, ...]


def _rust_crate(path: str) -> str:
    """The crate of a Rust path: `serde_json::de::from_slice` -> serde_json;
    `<json::Tweet as serde::Deserialize>::deserialize` -> json (the type's crate)."""
    path = path.lstrip("<&*").removeprefix("mut ").removeprefix("const ").removeprefix("dyn ")
    match = re.match(r"[A-Za-z_][A-Za-z0-9_]*", path)
    return match.group(0) if match else ""


def _rust_trait_crate(name: str) -> str | None:
    """The crate of the trait in `<Type as trait::Path>::method`, else None."""
    match = re.match(r"<.*? as (?P<trait>[A-Za-z_][A-Za-z0-9_]*)::", name)
    return match["trait"] if match else None


_STD_CRATES = {"std", "core", "alloc"}


def _rust_impl_trait_crate(name: str) -> str | None:
    """The trait's crate in derive output named `app::_::<impl serde::Serialize for app::T>::f`."""
    match = re.search(r"<impl (?P<trait>[A-Za-z_][A-Za-z0-9_]*)::[^<>]* for ", name)
    return match["trait"] if match else None


def frame_category(frame: str, owner: Owner) -> str | None:
    """The category one frame belongs to, or None for a frame that only serves its caller."""
    if frame.endswith(KERNEL_SUFFIX):
        return "kernel"
    frame = _CLONE_SUFFIX.sub("", _SYMBOL_VERSION.sub("", frame.removeprefix("__rustc::")))
    if frame in _LIBC_ALLOCATOR or frame.startswith(("_int_malloc", "_int_free", "tcache_")):
        return "allocator"
    if owner.lang == "go":
        if frame.startswith(_GO_ALLOCATOR):
            return "allocator"
        if frame.startswith(_GO_GC) or frame.startswith(_GO_SCHEDULER):
            return "gc_runtime"
        if frame.startswith(_GO_PASS) or frame.startswith("["):
            return None
        if frame.startswith(owner.prefixes):
            return "own"
        return "library" if "." in frame else None  # a package path: the standard library or not
    if frame.startswith(_RUST_ALLOCATOR):
        return "allocator"
    if frame.startswith(_RUST_RUNTIME):
        return "gc_runtime"
    if frame.startswith(_RUST_PASS) or frame.startswith(_C_PASS):
        return None
    crate = _rust_crate(frame)
    if not crate or "::" not in frame:
        return None
    if crate in owner.prefixes:
        trait = _rust_trait_crate(frame) or _rust_impl_trait_crate(frame)
        if trait and trait not in owner.prefixes and trait not in _STD_CRATES:
            return "library"  # derive-generated glue for a library's trait
        return "own"
    return "library"


def stack_category(stack: str, owner: Owner) -> str:
    """A sample's category: kernel when its leaf is in the kernel, else the innermost frame that
    has one; "gc_runtime" for a Go stack of runtime frames only; else "other"."""
    frames = stack.split(";")
    if frames[-1].endswith(KERNEL_SUFFIX):
        return "kernel"
    for frame in reversed(frames):
        category = frame_category(frame, owner)
        if category is not None:
            return category
    if owner.lang == "go" and any(f.startswith("runtime.") for f in frames):
        return "gc_runtime"
    return "other"


def category_samples(stacks: Mapping[str, int], owner: Owner) -> dict[str, int]:
    """Samples per category, every category present (0 when none)."""
    totals = dict.fromkeys(CATEGORIES, 0)
    for stack, count in stacks.items():
        totals[stack_category(stack, owner)] += count
    return totals


@dataclass(frozen=True)
class SelfTime:
    """A function's self time: the samples whose leaf it is, and that leaf's category."""

    frame: str
    samples: int
    share: float
    category: str


def top_self(stacks: Mapping[str, int], owner: Owner, n: int) -> list[SelfTime]:
    """The n functions with the most self time (ties by name, so the order is stable)."""
    total = sum(stacks.values())
    leaves: Counter[str] = Counter()
    categories: dict[str, Counter[str]] = {}
    for stack, count in stacks.items():
        leaf = stack.rsplit(";", 1)[-1]
        leaves[leaf] += count
        categories.setdefault(leaf, Counter())[stack_category(stack, owner)] += count
    ranked = sorted(leaves.items(), key=lambda item: (-item[1], item[0]))[:n]
    return [
        SelfTime(
            frame=leaf,
            samples=count,
            share=count / total if total else 0.0,
            category=categories[leaf].most_common(1)[0][0],
        )
        for leaf, count in ranked
    ]


def merge(stacks: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Sum counts of equal stacks (folded files may repeat a line)."""
    merged: Counter[str] = Counter()
    for stack, count in stacks:
        merged[stack] += count
    return dict(merged)


def parse_folded(text: str) -> dict[str, int]:
    """Folded-stack text ("a;b;c 12" per line), as FlameGraph and inferno write it."""
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            raise ValueError(f"line {number}: expected 'frame;frame;... COUNT', got {line!r}")
        pairs.append((stack, int(count)))
    return merge(pairs)


def to_folded(stacks: Mapping[str, int]) -> str:
    return "".join(f"{stack} {count}\n" for stack, count in sorted(stacks.items()))


@dataclass(frozen=True)
class FlameRect:
    """One box of a flame graph: a frame at a depth, spanning [start, start + width) samples."""

    frame: str
    depth: int
    start: int
    width: int
    category: str


def flame_layout(
    stacks: Mapping[str, int], owner: Owner, min_share: float = 0.0
) -> tuple[list[FlameRect], int]:
    """The boxes of a flame graph (root at depth 0, children left to right by name, as FlameGraph
    sorts them), and the total sample count. Boxes narrower than `min_share` of the total are left
    out (their samples still count in the parents' widths). A box takes its own frame's category;
    a frame that has none (memmove, a start-up frame) takes the majority of its samples'."""
    total = sum(stacks.values())
    tree: dict = {}
    for stack, count in stacks.items():
        node = tree
        category = stack_category(stack, owner)
        for frame in stack.split(";"):
            child = node.setdefault(frame, {"count": 0, "categories": Counter(), "children": {}})
            child["count"] += count
            child["categories"][category] += count
            node = child["children"]
    rects: list[FlameRect] = []

    def walk(children: dict, depth: int, start: int) -> None:
        for frame in sorted(children):
            child = children[frame]
            if total and child["count"] / total >= min_share:
                rects.append(
                    FlameRect(
                        frame=frame,
                        depth=depth,
                        start=start,
                        width=child["count"],
                        category=frame_category(frame, owner)
                        or child["categories"].most_common(1)[0][0],
                    )
                )
                walk(child["children"], depth + 1, start)
            start += child["count"]

    walk(tree, 0, 0)
    return rects, total


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: (v / total if total else 0.0) for k, v in counts.items()}


def owners_for(lang: str, go_module: str | None, rust_crates: Sequence[str]) -> Owner:
    """The program's own code: Go's package main and its module's packages; Rust's workspace
    crates."""
    if lang == "go":
        return Owner("go", ("main.", *((go_module + "/",) if go_module else ())))
    return Owner("rust", tuple(sorted({c.replace("-", "_") for c in rust_crates})))
