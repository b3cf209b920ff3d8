"""Where security tests write their figures (git-ignored): var/artifacts/security/."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts" / "security"


def write_table(
    name: str, title: str, header: Sequence[str], rows: Sequence[Sequence[object]]
) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lines = [f"# {title}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    path = ARTIFACTS / name
    path.write_text("\n".join(lines) + "\n")
    return path
