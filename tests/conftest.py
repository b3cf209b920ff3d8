"""Shared fixtures: fixture image paths, shared face data, the real pipeline."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# SECURITY.md AL3: copy every log record of the run to a file and scan it (and every
# SQLite audit chain under the run's tmp dir) at the end; see tests/security/logscan.py.
pytest_plugins = ["security.logscan"]

ROOT = Path(__file__).resolve().parents[1]
DOWNLOADED = ROOT / "fixtures" / "images" / "downloaded"
GENERATED = ROOT / "fixtures" / "images" / "generated"

settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def face_data_dir() -> Path:
    return Path(os.environ.get("PROCTOR_FACE_DATA", str(ROOT.parent / "shared" / "data" / "faces")))


@pytest.fixture(scope="session")
def face_data() -> Path:
    d = face_data_dir()
    if not (d / "asian_dev_pairs.tsv").exists():
        pytest.skip(f"shared face data not found at {d} (set PROCTOR_FACE_DATA)")
    return d


@pytest.fixture(scope="session")
def portraits() -> Path:
    if not (DOWNLOADED / "obama.jpg").exists():
        pytest.skip(
            "fixture portraits missing: run `python -m proctor.fixtures_setup` (make test does)"
        )
    return DOWNLOADED


@pytest.fixture(scope="session")
def generated() -> Path:
    if not (GENERATED / "two_faces.jpg").exists():
        pytest.skip("generated fixtures missing: run `python -m proctor.fixtures_setup`")
    return GENERATED


@pytest.fixture(scope="session")
def pipeline() -> Iterator[object]:
    from proctor.pipeline import build_verifier

    yield build_verifier()
