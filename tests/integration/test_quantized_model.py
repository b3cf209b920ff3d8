"""The 8-bit ResNet (the default model) against the float translation it comes from.

Quantisation moves embeddings, so the 8-bit model is another model_id with its own
operating points; what must hold is a bounded move on real chips and no loss of
separation on the dev pairs. Tolerances (stated, from the card's measurement on 2,085
dev chips: median 0.045, p95 0.058, max 0.157):
- L2 between the two models' embeddings of one chip: median ≤ 0.08, max ≤ 0.25
  (genuine pairs sit at ~0.3, the match limit near 0.45);
- EER on the sampled East-Asian and LFW pairs no worse than the float model's + 2 pairs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from proctor.bench.pairs import Pair, read_pairs
from proctor.embedding.onnx_build import sidecar_path
from proctor.embedding.onnx_resnet import OnnxResNetEncoder, ensure_onnx
from proctor.embedding.quantize import build_quantized_file, load_table
from proctor.embedding.registry import model_spec
from proctor.errors import ImageError, ModelIntegrityError, ModelUnavailable
from proctor.pipeline import Pipeline, build_verifier
from proctor.quality.policy import QualityPolicy
from proctor.types import RGBImage

pytestmark = pytest.mark.model

FLOAT_MODEL = "dlib_resnet_v1"
Q8_MODEL = "dlib_resnet_v1_q8"


def test_default_model_is_the_8_bit_graph_built_reproducibly(tmp_path: Path) -> None:
    spec = model_spec()
    assert spec.model_id == Q8_MODEL and spec.runtimes == ("onnx",)
    assert spec.onnx is not None and spec.onnx.quant_table is not None
    src = spec.file(spec.onnx.source_role)
    a = build_quantized_file(src, spec.onnx.quant_table, tmp_path / "a.onnx")
    b = build_quantized_file(src, spec.onnx.quant_table, tmp_path / "b.onnx")
    assert a.sha256 == b.sha256 == hashlib.sha256(a.path.read_bytes()).hexdigest()
    assert a.sha256 == spec.onnx.sha256, "8-bit build changed: update models/registry.toml"
    meta = json.loads(sidecar_path(a.path).read_text())
    assert meta["float_graph_sha256"] == model_spec(FLOAT_MODEL).onnx.sha256  # type: ignore[union-attr]
    # integer convolutions, not float ones with extra nodes
    import onnx

    ops = {n.op_type for n in onnx.load(str(a.path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops


def test_dlib_runtime_is_refused_for_the_8_bit_model() -> None:
    with pytest.raises(ModelUnavailable, match="runs on onnx"):
        build_verifier(Q8_MODEL, runtime="dlib")


def test_changed_table_or_file_is_refused(tmp_path: Path) -> None:
    spec = model_spec()
    assert spec.onnx is not None and spec.onnx.quant_table is not None
    path = ensure_onnx(spec)
    # a table edited after the build: the file no longer matches what the table makes
    table = tmp_path / "t.quant.json"
    body = json.loads(spec.onnx.quant_table.read_text())
    for v in body["tensors"].values():
        v[0] *= 1.5
    table.write_text(json.dumps(body))
    local = tmp_path / "m.onnx"
    shutil.copyfile(path, local)
    shutil.copyfile(sidecar_path(path), sidecar_path(local))
    art = replace(spec.onnx, path=local, quant_table=table)
    with pytest.raises(ModelIntegrityError, match="quantisation table"):
        ensure_onnx(replace(spec, onnx=art), build=False)
    # rebuilt from the edited table: another file, which the registry digest refuses to equal
    rebuilt = ensure_onnx(replace(spec, onnx=replace(art, path=tmp_path / "n.onnx")))
    assert hashlib.sha256(rebuilt.read_bytes()).hexdigest() != spec.onnx.sha256
    # a table that contradicts a range the quantiser ties to another is refused
    tied = json.loads(spec.onnx.quant_table.read_text())
    first = sorted(tied["tensors"])
    pool_in, pool_out = "relu_10", "maxpool_11"
    assert pool_in in first and pool_out in first
    tied["tensors"][pool_out][0] *= 2
    table.write_text(json.dumps(tied))
    with pytest.raises(ValueError, match="not applied as written"):
        build_quantized_file(spec.file("resnet"), table, tmp_path / "t.onnx")
    # a missing table is a clear error, not a float model under the 8-bit id
    gone = replace(art, path=tmp_path / "x.onnx", quant_table=tmp_path / "missing.json")
    with pytest.raises(ModelUnavailable, match="quantisation table"):
        ensure_onnx(replace(spec, onnx=gone))
    with pytest.raises(ValueError, match="scheme"):
        table.write_text(json.dumps({**body, "scheme": {"format": "QOperator"}}))
        load_table(table)


def _chips(pipe: Pipeline, root: Path, pairs: list[Pair]) -> dict[str, RGBImage]:
    policy = QualityPolicy.permissive()
    out: dict[str, RGBImage] = {}
    for p in sorted({x for q in pairs for x in (q.a, q.b)}):
        try:
            chip = pipe.analyze((root / p).read_bytes(), policy).chip
        except ImageError:
            continue
        if chip is not None:
            out[p] = chip
    return out


def _eer_errors(genuine: np.ndarray, impostor: np.ndarray) -> int:
    """Errors (pairs) at the threshold where FMR and FNMR are closest."""
    best: tuple[float, int] = (2.0, 0)
    for t in np.concatenate([genuine, impostor]):
        fm, fn = int((impostor <= t).sum()), int((genuine > t).sum())
        gap = abs(fm / len(impostor) - fn / len(genuine))
        if gap < best[0]:
            best = (gap, fm + fn)
    return best[1]


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("name", ["asian_dev_pairs.tsv", "lfw_dev_pairs.tsv"])
def test_8_bit_embeddings_stay_close_and_separate_as_well(
    pipeline: Pipeline, face_data: Path, name: str
) -> None:
    pairs = read_pairs(face_data / name)[::3]
    chips = _chips(pipeline, face_data, pairs)
    keys = sorted(chips)
    batch = np.stack([chips[k] for k in keys])
    q8 = OnnxResNetEncoder(model_spec(Q8_MODEL), verify=False)
    fp = OnnxResNetEncoder(model_spec(FLOAT_MODEL), verify=False)
    eq, ef = q8.encode_chips(batch), fp.encode_chips(batch)
    shift = np.linalg.norm(eq - ef, axis=1)
    assert len(keys) >= 150
    assert float(np.median(shift)) <= 0.08 and float(shift.max()) <= 0.25, (
        float(np.median(shift)),
        float(shift.max()),
    )
    pos = {k: i for i, k in enumerate(keys)}
    usable = [p for p in pairs if p.a in pos and p.b in pos]
    ia = np.array([pos[p.a] for p in usable])
    ib = np.array([pos[p.b] for p in usable])
    same = np.array([p.same for p in usable], dtype=bool)
    errors = []
    for e in (eq, ef):
        d = np.linalg.norm(e[ia] - e[ib], axis=1)
        errors.append(_eer_errors(d[same], d[~same]))
    assert errors[0] <= errors[1] + 2, errors
