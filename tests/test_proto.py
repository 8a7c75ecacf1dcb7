"""The committed Go code of workloads/proto/roundtrip.proto (workloads/go/internal/roundtrippb) is
exactly what `make proto` generates with its pinned tools: protoc from the PyPI package
grpcio-tools, protoc-gen-go and protoc-gen-go-grpc at fixed versions (Makefile). Regenerates into
a temporary folder; needs go, make and the package registries (e2e)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "workloads" / "go" / "internal" / "roundtrippb"

pytestmark = pytest.mark.e2e


@pytest.mark.skipif(
    shutil.which("go") is None, reason="needs go (protoc-gen-go, protoc-gen-go-grpc)"
)
@pytest.mark.skipif(shutil.which("make") is None, reason="needs make (the proto target)")
def test_committed_go_code_is_what_make_proto_generates(tmp_path):
    # The venv running the tests is the one `make proto` installs grpcio-tools into.
    venv = Path(sys.executable).parent.parent
    if not (venv / ".installed").exists():
        pytest.skip(f"{venv} is not the project's venv (no .installed marker): make proto needs it")
    result = subprocess.run(
        ["make", "--no-print-directory", "proto", f"VENV={venv}", f"PROTO_OUT={tmp_path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"make proto failed:\n{result.stdout}\n{result.stderr}"
    generated = tmp_path / "internal" / "roundtrippb"
    names = sorted(p.name for p in generated.glob("*.go"))
    assert names == sorted(p.name for p in COMMITTED.glob("*.go")), "other files than committed"
    assert names, "make proto generated nothing"
    for name in names:
        assert (generated / name).read_text() == (COMMITTED / name).read_text(), (
            f"workloads/go/internal/roundtrippb/{name} differs from what make proto generates: "
            "run `make proto` and commit the result"
        )
