"""Review recommendations and proxy-ring linking on measurements with known answers."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from proctor.review.queue import CaseKind, CaseStatus, ReviewCase, overdue
from proctor.review.report import (
    QualityLimits,
    ReviewZones,
    RingMember,
    SnapshotMeasure,
    case_report,
    group_id,
    link_rings,
    snapshot_verdict,
)

ZONES = ReviewZones(match_l2=0.40, no_match_l2=0.50, ring_l2=0.45)
REF = SnapshotMeasure("ref", "ok", face_count=1, face_px=150, sharpness=100, brightness=120)


def _snap(eid: str, *ds: float, **kw: object) -> SnapshotMeasure:
    base: dict[str, object] = {
        "face_count": 1,
        "face_px": 150,
        "sharpness": 100.0,
        "brightness": 120.0,
    }
    base.update(kw)
    dist = {f"m{i}": d for i, d in enumerate(ds)}
    return SnapshotMeasure(
        eid, "ok", distances=dist, pixel_sha256=eid * 8, perceptual_hash=hash(eid) & 0xFFFF, **base
    )  # type: ignore[arg-type]


def test_every_model_must_agree_for_a_verdict() -> None:
    assert snapshot_verdict({"a": 0.3, "b": 0.35}, ZONES) == "match"
    assert snapshot_verdict({"a": 0.3, "b": 0.45}, ZONES) == "uncertain"
    assert snapshot_verdict({"a": 0.6, "b": 0.55}, ZONES) == "mismatch"
    assert snapshot_verdict({}, ZONES) == "uncertain"


@pytest.mark.parametrize(
    ("snaps", "expected", "reason"),
    [
        ([_snap("a", 0.3), _snap("b", 0.35)], "uphold_match", "all_usable_snapshots_match"),
        ([_snap("a", 0.8), _snap("b", 0.9)], "confirm_mismatch", "all_usable_snapshots_mismatch"),
        ([_snap("a", 0.3), _snap("b", 0.9)], "needs_human", "verdicts_disagree"),
        ([_snap("a", 0.3, sharpness=1.0)], "needs_human", "no_usable_snapshot"),
        ([], "needs_human", "no_evidence_in_retention"),
    ],
)
def test_recommendations(snaps: list[SnapshotMeasure], expected: str, reason: str) -> None:
    rep = case_report("c1", snaps, [REF], ZONES, QualityLimits())
    assert rep["recommendation"] == expected
    assert reason in rep["reasons"]


def test_a_poor_capture_is_reported_with_its_reasons_not_judged() -> None:
    rep = case_report(
        "c1", [_snap("a", 0.9, sharpness=1.0, brightness=10.0)], [REF], ZONES, QualityLimits()
    )
    row = rep["snapshots"][0]
    assert row["verdict"] == "unusable"
    assert set(row["quality_reasons"]) == {"blurry", "too_dark"}


def test_no_usable_reference_needs_a_human() -> None:
    bad_ref = SnapshotMeasure("ref", "evidence_missing")
    rep = case_report("c1", [_snap("a", 0.3)], [bad_ref], ZONES, QualityLimits())
    assert rep["recommendation"] == "needs_human"
    assert rep["reasons"] == ["no_usable_reference"]


def test_rings_link_one_face_across_different_drivers_only() -> None:
    proxy = np.zeros(4)
    members = [
        RingMember("case-a", "driver-a", "e1", proxy),
        RingMember("case-b", "driver-b", "e2", proxy + 0.01),
        RingMember("case-c", "driver-c", "e3", proxy + 0.02),
        RingMember("case-d", "driver-d", "e4", proxy + 5.0),  # someone else
        RingMember("case-e", "driver-d", "e5", proxy + 5.0),  # same driver twice: no ring
    ]
    assert link_rings(members, 0.45) == [("case-a", "case-b", "case-c")]
    assert link_rings(list(reversed(members)), 0.45) == [("case-a", "case-b", "case-c")]
    assert group_id(["case-b", "case-a"]) == group_id(["case-a", "case-b"])


def test_overdue_lists_undecided_cases_past_their_day() -> None:
    received = datetime(2026, 1, 5, 2, tzinfo=UTC)
    late = ReviewCase("c1", CaseKind.FUXI, "r1", "s1", "d1", received, received.date(), True)
    done = ReviewCase(
        "c2",
        CaseKind.FUXI,
        "r2",
        "s2",
        "d2",
        received,
        received.date(),
        True,
        status=CaseStatus.DECIDED,
    )
    future = ReviewCase(
        "c3", CaseKind.FLAG, "f1", "s3", "d3", received, datetime(2026, 1, 30).date(), True
    )
    now = datetime(2026, 1, 10, tzinfo=UTC)
    assert [c.id for c in overdue([late, done, future], now)] == ["c1"]
