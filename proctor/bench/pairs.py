"""Pair lists: tab separated, header ``path_a path_b same``, paths relative to a root."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Pair:
    a: str
    b: str
    same: bool


def read_pairs(path: Path) -> list[Pair]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = csv.DictReader(fh, delimiter="\t")
        return [
            Pair(r["path_a"], r["path_b"], r["same"].strip() in ("1", "true", "True")) for r in rows
        ]
