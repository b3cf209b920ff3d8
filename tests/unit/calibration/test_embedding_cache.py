"""The calibration/bench embedding cache when two runs share its folder."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from proctor.calibration.runner import _save_cache


def test_saves_merge_and_leave_no_temporary(tmp_path: Path) -> None:
    f = tmp_path / "model_tag.npz"
    _save_cache(f, {"a": np.ones(2)})
    _save_cache(f, {"b": np.zeros(2)})  # another run's entries: kept beside the first's
    with np.load(f) as z:
        assert set(z.files) == {"a", "b"}
    assert [p.name for p in tmp_path.iterdir()] == ["model_tag.npz"]


def test_side_by_side_writers_never_fail_or_leave_a_broken_file(tmp_path: Path) -> None:
    """Two benches run side by side used to share one temporary name: one of them died
    renaming a file the other had already moved (seen, issue 19 session)."""
    f = tmp_path / "model_tag.npz"
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(5):
                _save_cache(f, {f"k{i}_{j}": np.full(3, i, dtype=np.float64)})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with np.load(f) as z:
        assert len(z.files) >= 1 and all(z[k].shape == (3,) for k in z.files)
    assert [p.name for p in tmp_path.iterdir()] == ["model_tag.npz"]


def test_a_damaged_cache_is_replaced(tmp_path: Path) -> None:
    f = tmp_path / "model_tag.npz"
    f.write_bytes(b"not an npz")
    _save_cache(f, {"a": np.ones(2)})
    with np.load(f) as z:
        assert z.files == ["a"]
