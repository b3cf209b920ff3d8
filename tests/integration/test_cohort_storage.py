"""`proctor cohort build` without --images samples enrolled references from storage (issue 9)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from proctor.calibration.cohort_file import load_cohort
from proctor.cli import app
from proctor.embedding.registry import model_spec
from proctor.storage.uow import open_storage
from proctor.types import Template

pytestmark = [pytest.mark.db]


def test_cohort_is_sampled_from_enrolled_references_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_id = model_spec().model_id
    url = f"sqlite:///{tmp_path / 'c.db'}"
    storage = open_storage(url, data_dir=tmp_path)
    rng = np.random.default_rng(1)
    refs = {f"subject-{i}": rng.normal(size=128) for i in range(7)}
    at = datetime(2026, 11, 1, tzinfo=UTC)
    with storage.uow() as uow:
        for key, vec in refs.items():
            uow.templates.put(key, Template(model_id, vec / np.linalg.norm(vec)), at)
        # a session anchor and another model's template must stay out of the cohort
        uow.templates.put("anchor:s1", Template(model_id, np.ones(128) / np.sqrt(128)), at)
        uow.templates.put("other-model", Template("other", np.ones(128) / np.sqrt(128)), at)
        uow.commit()
    storage.engine.dispose()
    monkeypatch.setenv("PROCTOR_DATABASE_URL", url)
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path))
    out = tmp_path / "cohort.npz"
    res = CliRunner().invoke(app, ["cohort", "build", "--out", str(out), "--size", "5"])
    assert res.exit_code == 0, res.output
    cohort = load_cohort(out, model_id, top_k=3)
    assert cohort.vectors.shape == (5, 128)
    stored = np.array([v / np.linalg.norm(v) for v in refs.values()])
    for row in cohort.vectors:  # every cohort row is one of the enrolled references
        assert np.min(np.linalg.norm(stored - row, axis=1)) < 1e-9
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # biometric templates: owner only


def test_too_few_references_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROCTOR_DATABASE_URL", f"sqlite:///{tmp_path / 'e.db'}")
    monkeypatch.setenv("PROCTOR_DATA_DIR", str(tmp_path))
    res = CliRunner().invoke(app, ["cohort", "build", "--out", str(tmp_path / "c.npz")])
    assert res.exit_code != 0 and "enrolled references" in res.output
