"""``docs/configuration.md`` is generated from ``ProctorSettings`` and never stale (issue 16)."""

from __future__ import annotations

from proctor.config import ProctorSettings
from proctor.config_reference import DOC, render


def test_configuration_doc_is_current() -> None:
    assert DOC.read_text("utf-8") == render(), (
        "docs/configuration.md is stale: run `python -m proctor.config_reference`"
    )


def test_every_setting_has_its_env_var_and_a_meaning() -> None:
    rows = {line.split("|")[1].strip(" `"): line for line in render().splitlines()[8:]}
    assert set(rows) == set(ProctorSettings.model_fields)
    for name, line in rows.items():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        assert cells[1] == f"`PROCTOR_{name.upper()}`"
        assert cells[4], f"setting {name} has no meaning: comment it in config.py"
