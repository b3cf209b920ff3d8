"""The ONNX translation of dlib's ResNet against dlib itself, on real face chips.

Both runtimes embed the same aligned chips (detection, landmarks and alignment
are shared), so any difference is the network's runtime alone.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from proctor.bench.accuracy import score_pairs
from proctor.bench.pairs import Pair, read_pairs
from proctor.embedding.dlib_resnet import DlibResNetEncoder
from proctor.embedding.onnx_resnet import OnnxResNetEncoder
from proctor.embedding.registry import model_spec
from proctor.errors import ImageError
from proctor.pipeline import Pipeline
from proctor.quality.policy import QualityPolicy
from proctor.types import Embedding, RGBImage

pytestmark = [pytest.mark.model, pytest.mark.data, pytest.mark.slow]

PAIR_FILES = ("lfw_dev_pairs.tsv", "asian_dev_pairs.tsv")
FLOAT_MODEL = "dlib_resnet_v1"
PAIRS_PER_FILE = 70  # ≈ 250 distinct images in all: the ≥ 200 chips parity needs


def _chips(pipe: Pipeline, root: Path, paths: set[str]) -> dict[str, RGBImage | None]:
    permissive = QualityPolicy.permissive()
    out: dict[str, RGBImage | None] = {}
    for p in sorted(paths):
        try:
            out[p] = pipe.analyze((root / p).read_bytes(), permissive).chip
        except ImageError:  # counted as failed acquisition, as in bench accuracy
            out[p] = None
    return out


@pytest.fixture(scope="module")
def encoders() -> tuple[DlibResNetEncoder, OnnxResNetEncoder]:
    spec = model_spec(FLOAT_MODEL)  # the float translation: the 8-bit one has its own test
    return DlibResNetEncoder(spec), OnnxResNetEncoder(spec)


def _embed_both(
    pipe: Pipeline,
    encoders: tuple[DlibResNetEncoder, OnnxResNetEncoder],
    root: Path,
    pairs: list[Pair],
) -> tuple[dict[str, Embedding | None], dict[str, Embedding | None]]:
    chips = _chips(pipe, root, {x for p in pairs for x in (p.a, p.b)})
    ref, onnx = encoders
    names = [k for k, c in chips.items() if c is not None]
    batch = onnx.encode_chips([chips[k] for k in names]) if names else np.zeros((0, 128))
    ours: dict[str, Embedding | None] = dict.fromkeys(chips)
    theirs: dict[str, Embedding | None] = dict.fromkeys(chips)
    for i, k in enumerate(names):
        chip = chips[k]
        assert chip is not None
        ours[k] = batch[i]
        theirs[k] = ref.encode_chip(chip, 1)
    return ours, theirs


def _check_verdicts(
    pairs: list[Pair], ours: dict[str, Embedding | None], theirs: dict[str, Embedding | None]
) -> tuple[int, float]:
    thr = 0.43
    a = score_pairs(pairs, ours, ours, thr)
    b = score_pairs(pairs, theirs, theirs, thr)
    assert a["fta_pairs"] == b["fta_pairs"]
    flips = 0
    for thr_ in (thr, 0.5, 0.6):
        for da, db in zip(
            a["genuine_distances"] + a["impostor_distances"],
            b["genuine_distances"] + b["impostor_distances"],
            strict=True,
        ):
            flips += (da <= thr_) != (db <= thr_)
    diff = max(
        (float(np.max(np.abs(ours[k] - theirs[k]))) for k in ours if ours[k] is not None),
        default=0.0,
    )
    return flips, diff


def test_onnx_equals_dlib_on_real_chips_and_verdicts(
    pipeline: Pipeline,
    face_data: Path,
    encoders: tuple[DlibResNetEncoder, OnnxResNetEncoder],
) -> None:
    n_chips = 0
    for name in PAIR_FILES:
        pairs = read_pairs(face_data / name)[:PAIRS_PER_FILE]
        ours, theirs = _embed_both(pipeline, encoders, face_data, pairs)
        n_chips += sum(v is not None for v in ours.values())
        flips, diff = _check_verdicts(pairs, ours, theirs)
        assert diff <= 1e-4, (name, diff)
        assert flips == 0, name
    assert n_chips >= 200


def test_single_and_batched_and_jittered_agree(
    pipeline: Pipeline, portraits: Path, encoders: tuple[DlibResNetEncoder, OnnxResNetEncoder]
) -> None:
    ref, onnx = encoders
    chips = [
        c
        for n in ("obama.jpg", "biden.jpg", "obama2.jpg")
        if (c := pipeline.analyze((portraits / n).read_bytes(), QualityPolicy.permissive()).chip)
        is not None
    ]
    batch = onnx.encode_chips(chips)
    assert batch.shape == (3, 128) and batch.dtype == np.float64
    for i, c in enumerate(chips):
        np.testing.assert_allclose(onnx.encode_chip(c), batch[i], atol=1e-5)
        assert np.max(np.abs(onnx.encode_chip(c) - ref.encode_chip(c, 1))) <= 1e-4
    # Jittered means come from dlib's random crops: close to, not equal to, the plain one.
    jit = onnx.encode_chip(chips[0], 4)
    assert np.linalg.norm(jit - batch[0]) < 0.2
    assert onnx.encode_chips([]).shape == (0, 128)


@pytest.mark.benchmark
@pytest.mark.parametrize("name", PAIR_FILES)
def test_verdicts_identical_on_every_dev_pair(
    pipeline: Pipeline,
    face_data: Path,
    encoders: tuple[DlibResNetEncoder, OnnxResNetEncoder],
    name: str,
) -> None:
    pairs = read_pairs(face_data / name)
    ours, theirs = _embed_both(pipeline, encoders, face_data, pairs)
    flips, diff = _check_verdicts(pairs, ours, theirs)
    assert diff <= 1e-4
    assert flips <= len(pairs) // 1000
