"""``docs/configuration.md``, generated from ``ProctorSettings``: every setting, its
environment variable, type, default and meaning (the comments beside it in
``proctor/config.py``). Regenerate with ``python -m proctor.config_reference``; a test
fails when the file is stale.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from proctor.config import ProctorSettings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
# Meanings of the settings that carry no comment in proctor/config.py (kept here so that
# config.py stays as it is; a test requires a meaning for every setting).
MEANINGS = {
    "model_id": "model to load from models/registry.toml; unset: the registry's default_model",
    "models_dir": "folder with registry.toml, operating_points.toml and built ONNX files; "
    "unset: this repository's models/ (or PROCTOR_MODELS_DIR)",
    "max_image_bytes": "largest accepted image file, checked before decoding",
    "max_image_pixels": "largest accepted image (width × height), checked from the header",
    "detect_working_side_px": "longest side of the working copy the HOG detector runs on",
    "enroll_jitters": "jittered embeddings averaged per reference photo at enrolment",
    "snapshot_extra_face_ratio": "a second face at least this fraction of the primary "
    "face's width counts as another person (snapshots)",
    "anchor_target_fmr": "FMR target of the session-anchor threshold "
    "(a key of operating_points.toml)",
    "operating_population": "calibration population whose operating points are used",
    "operating_target_fmr": "FMR target of the s-norm threshold when three zones are off",
    "zone_match_fmr": "FMR target of the entry match limit (three zones)",
    "zone_no_match_fmr": "FMR target of the entry no-match limit (three zones)",
    "reference_extra_face_ratio": "as snapshot_extra_face_ratio, for reference photos",
    "data_dir": "SQLite database, evidence blobs and audit checkpoints",
    "token_ttl_s": "lifetime of an issued access token",
    "retry_after_s": "Retry-After sent with 503 when the matching queue is full",
    "snapshot_max_bytes": "largest snapshot request body (413 before reading)",
    "json_max_bytes": "largest JSON request body",
    "rate_limit_burst": "per-driver token bucket size",
    "rate_limit_redis_prefix": "key prefix of the shared buckets in Redis",
    "idempotency_ttl_s": "how long an Idempotency-Key answer is kept",
    "consent_text_version": "version of the biometric consent text drivers agree to",
    "capture_challenge_ttl_s": "time to answer a capture challenge",
    "capture_study_block_s": "study time block that gets random captures",
    "capture_study_min_gap_s": "least time between two random study captures",
    "capture_study_per_block": "random captures per study block",
    "capture_study_horizon_s": "how far ahead random study captures are planned",
    "question_budget_s": "answer time per exam question (paused during captures)",
    "liveness_random_share": "share of random captures that ask for a liveness burst",
    "liveness_min_actions": "fewest actions a burst challenge asks for",
    "liveness_max_actions": "most actions a burst challenge asks for",
    "burst_clip_max_s": "longest accepted burst clip",
}
_FIELD = re.compile(r"^    (\w+): [^=]+?(?:=.*?)?(?:\s+#\s*(?P<trail>.*))?$")


def _meanings() -> dict[str, str]:
    """Each field's comment: the ``#`` lines just above it plus its trailing comment."""
    out: dict[str, str] = {}
    above: list[str] = []
    for line in inspect.getsource(ProctorSettings).splitlines():
        stripped = line.strip()
        if stripped.startswith("# ----"):
            above = []
        elif stripped.startswith("#"):
            above.append(stripped.lstrip("#").strip())
        elif (m := _FIELD.match(line)) and m.group(1) in ProctorSettings.model_fields:
            parts = [*above, m.group("trail") or ""]
            out[m.group(1)] = " ".join(p for p in parts if p)
            above = []
        else:
            above = []
    return out


def _default(value: Any) -> str:
    if isinstance(value, SecretStr):
        return "(secret)"
    if value is None:
        return "unset"
    return f"`{value}`"


def render() -> str:
    prefix = str(ProctorSettings.model_config.get("env_prefix", ""))
    meanings = _meanings()
    lines = [
        "# Configuration",
        "",
        "Generated from `proctor/config.py:ProctorSettings` by "
        "`python -m proctor.config_reference`: do not edit by hand.",
        "",
        f"Every setting is read from the environment variable `{prefix}<NAME>` (upper case) "
        "once, in the composition root; the core only sees the frozen policies built from "
        "them. Capture thresholds are not settings: they come from `models/` and are listed "
        "in the README (`GET /readyz` names the loaded operating policy).",
        "",
        "| setting | environment variable | type | default | meaning |",
        "|---|---|---|---|---|",
    ]
    for name, info in ProctorSettings.model_fields.items():
        kind = str(info.annotation).replace("typing.", "").replace("pathlib.", "")
        kind = re.sub(r"<class '(\w+)'>", r"\1", kind).replace("pydantic.types.", "")
        meaning = (meanings.get(name) or MEANINGS.get(name, "")).replace("|", "\\|")
        kind = kind.replace("|", "or")
        row = f"| `{name}` | `{prefix}{name.upper()}` | {kind} | {_default(info.default)} | "
        lines.append(row + f"{meaning} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    DOC.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {DOC}\n")


if __name__ == "__main__":
    main()
