"""`proctor models build`: reproducible output, sidecar digests, refusal of tampered files."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from proctor.embedding.onnx_build import build_onnx_file, sidecar_path
from proctor.embedding.onnx_resnet import OnnxResNetEncoder, ensure_onnx
from proctor.embedding.registry import OnnxArtifact, model_spec
from proctor.errors import ModelIntegrityError, ModelUnavailable

pytestmark = pytest.mark.model

FLOAT_MODEL = "dlib_resnet_v1"  # the float translation (the 8-bit default: test_quantized_model)


def test_build_is_deterministic_and_matches_the_registry(tmp_path: Path) -> None:
    spec = model_spec(FLOAT_MODEL)
    assert spec.onnx is not None and "onnx" in spec.runtimes and "dlib" in spec.runtimes
    src = spec.file(spec.onnx.source_role)
    a = build_onnx_file(src, tmp_path / "a.onnx")
    b = build_onnx_file(src, tmp_path / "b.onnx")
    assert a.sha256 == b.sha256 == hashlib.sha256(a.path.read_bytes()).hexdigest()
    assert a.sha256 == spec.onnx.sha256, "builder output changed: update models/registry.toml"
    meta = json.loads(sidecar_path(a.path).read_text())
    assert meta["source_sha256"] == next(f.sha256 for f in spec.files if f.role == "resnet")


def test_missing_file_is_built_or_reported(tmp_path: Path) -> None:
    spec = model_spec(FLOAT_MODEL)
    assert spec.onnx is not None
    local = replace(spec, onnx=replace(spec.onnx, path=tmp_path / "m.onnx"))
    with pytest.raises(ModelUnavailable, match="proctor models build"):
        ensure_onnx(local, build=False)
    assert ensure_onnx(local, build=True).exists()
    OnnxResNetEncoder(local, verify=False)  # loads


def test_tampered_onnx_file_is_refused(tmp_path: Path) -> None:
    spec = model_spec(FLOAT_MODEL)
    assert spec.onnx is not None
    path = ensure_onnx(spec)
    bad = tmp_path / "bad.onnx"
    shutil.copyfile(path, bad)
    shutil.copyfile(sidecar_path(path), sidecar_path(bad))
    with bad.open("r+b") as fh:
        fh.seek(-100, 2)
        fh.write(b"\x00" * 8)
    art = OnnxArtifact(bad, spec.onnx.source_role, spec.onnx.sha256)
    with pytest.raises(ModelIntegrityError):
        ensure_onnx(replace(spec, onnx=art), build=False)


def test_models_build_command() -> None:
    from typer.testing import CliRunner

    from proctor.cli import app

    res = CliRunner().invoke(app, ["models", "build"])
    assert res.exit_code == 0, res.output
    assert "sha256=" in res.output
