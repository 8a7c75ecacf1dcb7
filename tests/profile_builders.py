"""Profile files for report tests: hand-made folded stacks with known category shares."""

from __future__ import annotations

from harness.model import FoldedStack, ImplementationProfile, ProfileRun, WorkloadProfile
from harness.store.results import PROFILE_SCHEMA_VERSION

GO_STACKS = {  # 100 samples: 40 GC, 20 allocator, 10 kernel, 20 library, 10 own
    "runtime.goexit;runtime.gcBgMarkWorker;runtime.gcDrain;runtime.scanobject": 40,
    "runtime.main;main.main;main.make;runtime.newobject;runtime.mallocgc": 20,
    "runtime.main;main.main;os.ReadFile;syscall.read;entry_SYSCALL_64_[k];do_syscall_64_[k]": 10,
    "runtime.main;main.main;encoding/json.Unmarshal;encoding/json.(*decodeState).object": 20,
    "runtime.main;main.main;main.check": 10,
}
RUST_STACKS = {  # 50 samples: 20 allocator, 5 kernel, 15 library, 10 own
    "main;demo::main;demo::make;__rust_alloc;malloc;_int_malloc": 20,
    "main;demo::main;std::fs::read;read;entry_SYSCALL_64_[k]": 5,
    "main;demo::main;serde_json::de::from_slice;serde_json::de::Deserializer::parse_str": 15,
    "main;demo::main;demo::check": 10,
}


def impl_profile(lang: str, stacks: dict[str, int], cpu: float, **overrides) -> ImplementationProfile:
    fields = dict(
        lang=lang,
        variant="default",
        ok=True,
        binary_path=f"/cache/bin/{lang}-demo",
        build_flags="go build -trimpath" if lang == "go" else "profiling build: RUSTFLAGS=...",
        profiling_build=lang == "rust",
        same_source_as_run=True,
        command=("perf", "record"),
        period_seconds=0.01,
        samples=sum(stacks.values()),
        process_cpu_seconds=cpu,
        profiled_wall_seconds=(cpu * 1.02,),
        profiled_cpu_seconds=(cpu,),
        unprofiled_wall_seconds=(cpu,),
        unprofiled_cpu_seconds=(cpu,),
        own_code=("main.", "gorust/workloads/") if lang == "go" else ("demo",),
        stacks=tuple(FoldedStack(s, n) for s, n in sorted(stacks.items())),
    )
    fields.update(overrides)
    return ImplementationProfile(**fields)


def profile_run(run_id="20260101T000000Z-abcd", workloads=None, **overrides) -> ProfileRun:
    if workloads is None:
        workloads = (
            WorkloadProfile(
                name="demo",
                kind="batch",
                params={"n": 1},
                implementations=(
                    impl_profile("go", GO_STACKS, 1.0),
                    impl_profile("rust", RUST_STACKS, 0.5),
                ),
            ),
        )
    fields = dict(
        schema_version=PROFILE_SCHEMA_VERSION,
        run_id=run_id,
        started_at="2026-01-01T00:00:00+00:00",
        finished_at="2026-01-01T00:01:00+00:00",
        size="quick",
        perf_version="6.1.187",
        event="cpu-clock (software timer)",
        cpu_affinity=(1,),
        workloads=tuple(workloads),
        hardware_counters="unavailable on this machine: no hardware PMU",
        elapsed_seconds=60.0,
    )
    fields.update(overrides)
    return ProfileRun(**fields)
