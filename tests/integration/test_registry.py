"""Weight files are verified against models/registry.toml before use."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from proctor.embedding.registry import ModelFile, model_spec, verify_files, weights_dir
from proctor.errors import ModelIntegrityError, ModelUnavailable

pytestmark = pytest.mark.model


def test_shipped_weights_match_registry() -> None:
    spec = model_spec()
    assert spec.model_id == "dlib_resnet_v1_q8"
    assert {f.role for f in spec.files} == {"resnet", "landmarks5", "landmarks68"}
    verify_files(spec)
    assert str(weights_dir()).endswith("face_recognition_models/models")


def test_tampered_weight_file_is_refused(tmp_path: Path) -> None:
    spec = model_spec()
    src = spec.file("landmarks5")
    bad = tmp_path / src.name
    shutil.copyfile(src, bad)
    with bad.open("r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    files = tuple(
        ModelFile(f.role, bad, f.sha256) if f.role == "landmarks5" else f for f in spec.files
    )
    with pytest.raises(ModelIntegrityError) as exc:
        verify_files(replace(spec, files=files))
    assert exc.value.details["file"] == src.name


def test_missing_model_and_registry(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable):
        model_spec("no_such_model")
    with pytest.raises(ModelUnavailable):
        model_spec(models_dir=tmp_path)
