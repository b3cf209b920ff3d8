"""The identity core on the real dlib weights and real photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from proctor.config import ProctorSettings
from proctor.errors import ProctorError
from proctor.operating_policy import load_operating_policy
from proctor.pipeline import Pipeline
from proctor.testing.real import decide_alone, registry_policy
from proctor.types import Template, Verdict

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def obama_ref(pipeline: Pipeline, portraits: Path) -> Template:
    return pipeline.enroll([(portraits / "obama.jpg").read_bytes()])


@pytest.mark.parametrize("name", ["obama2.jpg", "obama3.jpg", "32bit.png"])
def test_same_person_matches(
    pipeline: Pipeline, portraits: Path, obama_ref: Template, name: str
) -> None:
    res = decide_alone(pipeline.measure(obama_ref, (portraits / name).read_bytes()))
    assert res.verdict is Verdict.MATCH, res
    assert res.distance is not None and res.distance <= res.threshold
    assert res.model_id == obama_ref.model_id and res.thresholds == {
        "reference_match_l2": res.threshold,
        "reference_no_match_l2": res.threshold,
    }
    assert set(res.timings_ms) >= {"decode", "detect", "landmarks", "quality", "embed", "compare"}


def test_other_person_does_not_match(
    pipeline: Pipeline, portraits: Path, obama_ref: Template
) -> None:
    res = decide_alone(pipeline.measure(obama_ref, (portraits / "biden.jpg").read_bytes()))
    assert res.verdict is Verdict.NO_MATCH
    assert res.reasons == ("face_mismatch",)
    assert res.distance is not None and res.distance > res.threshold


def test_shipped_thresholds_are_not_dlibs_default(pipeline: Pipeline) -> None:
    assert registry_policy(pipeline.model_id).reference.no_match_l2 < 0.6
    shipped = load_operating_policy(ProctorSettings(), pipeline.model_id)
    l2 = [v for k in ("entry", "anchored") for n, v in shipped.by_kind()[k].items() if "_l2" in n]
    assert l2 and all(v < 0.6 for v in l2)


def test_exif_rotated_photo_matches(
    pipeline: Pipeline, generated: Path, obama_ref: Template
) -> None:
    """The generated file is the reference photo stored sideways with an EXIF rotation:
    once the orientation is applied it is the same face as the reference, so close that
    the reference-copy check (issue 17) refuses it as a copy of the reference."""
    m = pipeline.measure(obama_ref, (generated / "exif_rotated_obama.jpg").read_bytes())
    assert m.reference_l2 is not None and m.reference_l2 < 0.15
    res = decide_alone(m)
    assert res.verdict is Verdict.REJECTED and res.reasons[0] == "reference_replayed"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("two_faces.jpg", "multiple_faces"),
        ("no_face.jpg", "no_face"),
        ("noise.png", "no_face"),
        ("tiny_face.jpg", "face_too_small"),
        ("dark.jpg", "too_dark"),
        ("bright.jpg", "too_bright"),
        ("blurred.jpg", "blurry"),
    ],
)
def test_unusable_snapshots_are_rejected_with_reason(
    pipeline: Pipeline, generated: Path, obama_ref: Template, name: str, reason: str
) -> None:
    res = decide_alone(pipeline.measure(obama_ref, (generated / name).read_bytes()))
    assert res.verdict is Verdict.REJECTED
    assert reason in res.reasons
    assert res.distance is None


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("truncated.jpg", "corrupt_image"),
        ("huge_header.png", "image_too_large"),
        ("not_an_image.jpg", "unsupported_format"),
        ("empty.jpg", "empty_image"),
    ],
)
def test_hostile_files_raise_their_code(
    pipeline: Pipeline, generated: Path, obama_ref: Template, name: str, code: str
) -> None:
    with pytest.raises(ProctorError) as exc:
        pipeline.measure(obama_ref, (generated / name).read_bytes())
    assert exc.value.code == code


def test_enrollment_rejects_a_bad_reference(pipeline: Pipeline, generated: Path) -> None:
    with pytest.raises(ProctorError) as exc:
        pipeline.enroll([(generated / "two_faces.jpg").read_bytes()])
    assert exc.value.code == "enrollment_rejected"
    assert exc.value.details["photos"]["0"] == ["multiple_faces"]


def test_multi_photo_jittered_enrollment(pipeline: Pipeline, portraits: Path) -> None:
    photos = [(portraits / n).read_bytes() for n in ("obama.jpg", "obama2.jpg")]
    t = pipeline.enroll(photos)
    # each chip's hash and its mirror image's (issue 17: a mirrored copy is a replay)
    assert t.source_count == 2 and len(t.perceptual_hashes) == 4
    assert t.jitters == pipeline.config.enroll_jitters
    res = decide_alone(pipeline.measure(t, (portraits / "obama3.jpg").read_bytes()))
    assert res.verdict is Verdict.MATCH


def test_evidence_and_replay_fingerprints(
    pipeline: Pipeline, portraits: Path, obama_ref: Template
) -> None:
    data = (portraits / "obama2.jpg").read_bytes()
    a, b = pipeline.measure(obama_ref, data), pipeline.measure(obama_ref, data + b"\x00" * 8)
    assert a.pixel_sha256 and a.pixel_sha256 == b.pixel_sha256
    assert a.face_crop_jpeg is not None and a.face_crop_jpeg[:3] == b"\xff\xd8\xff"
    c = pipeline.measure(obama_ref, (portraits / "obama3.jpg").read_bytes())
    assert c.pixel_sha256 != a.pixel_sha256


def test_embedding_parity_with_face_recognition(portraits: Path) -> None:
    """The float translation equals face_recognition; the 8-bit default model is held to
    the float one in tests/integration/test_quantized_model.py."""
    from proctor.bench.reference import load_face_recognition
    from proctor.imaging.decode import decode_image
    from proctor.pipeline import build_verifier
    from proctor.types import BBox

    pipeline = build_verifier("dlib_resnet_v1")
    fr = load_face_recognition()
    for name in ("obama.jpg", "biden.jpg", "obama2.jpg"):
        data = (portraits / name).read_bytes()
        img = fr.load_image_file(str(portraits / name))
        ours_img = decode_image(data).rgb
        np.testing.assert_array_equal(img, ours_img)  # same pixels (no EXIF in these files)
        (top, right, bottom, left), *_ = fr.face_locations(img)
        expected = np.asarray(fr.face_encodings(img, [(top, right, bottom, left)])[0])
        box = BBox(left, top, right + 1, bottom + 1)
        shape, _ = pipeline.encoder.landmarks(ours_img, box)
        ours = pipeline.encoder.encode_chip(pipeline.encoder.chip(ours_img, shape), 1)
        assert np.max(np.abs(ours - expected)) < 1e-6, name
