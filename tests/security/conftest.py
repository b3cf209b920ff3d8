"""Security-suite fixtures: the hostile corpus, written once per session."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .corpus import Sample, build


@pytest.fixture(scope="session")
def hostile() -> list[Sample]:
    return build()


@pytest.fixture(scope="session")
def hostile_dir(hostile: list[Sample], tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    for i, sample in enumerate(hostile):
        (d / f"{i:03d}-{re.sub(r'[^a-z0-9]+', '-', sample.name.lower())[:40]}").write_bytes(
            sample.data
        )
    return d
