from __future__ import annotations

import numpy as np
import pytest

from proctor.errors import ContractMismatch
from proctor.matching.decision import l2_distance, template_distance
from proctor.types import Template


def _t(vec: list[float], model: str = "m1") -> Template:
    return Template(model, np.asarray(vec, dtype=np.float64))


def test_template_distance_is_l2() -> None:
    d = template_distance(_t([0.3, 0.41]), _t([0.0, 0.0]))
    assert d == pytest.approx(np.hypot(0.3, 0.41))


def test_templates_of_different_models_are_never_compared() -> None:
    with pytest.raises(ContractMismatch):
        template_distance(_t([0.0], "m2"), _t([0.0], "m1"))


def test_dimension_mismatch_and_bad_vectors() -> None:
    with pytest.raises(ContractMismatch):
        l2_distance(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError):
        _t([float("nan")])


def test_template_bytes_roundtrip() -> None:
    t = Template("m1", np.linspace(-1, 1, 128), source_count=2, jitters=5)
    back = Template.from_bytes("m1", t.to_bytes())
    np.testing.assert_array_equal(back.vector, t.vector)
