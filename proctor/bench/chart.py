"""PNG bar chart of per-stage medians, ours against face_recognition (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

OURS_TO_BASELINE = {"decode": "decode", "detect": "detect", "embed": "landmarks+embed"}


def write_stage_chart(result: dict[str, Any], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stages = list(result["stages"])
    ours = [result["stages"][s]["median"] for s in stages]
    base_stages = result.get("baseline_stages", {})
    base = [base_stages.get(OURS_TO_BASELINE.get(s, ""), {}).get("median", 0.0) for s in stages]
    stages.append("pipeline")
    ours.append(result["pipeline_ms_median"])
    base.append(result.get("baseline_ms_median", 0.0))
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    xs = range(len(stages))
    ax.bar([x - 0.2 for x in xs], ours, width=0.4, label="proctor (ours)")
    ax.bar([x + 0.2 for x in xs], base, width=0.4, label="face_recognition default")
    ax.set_xticks(list(xs), stages)
    ax.set_ylabel("median ms per image (one core)")
    ratio = result.get("ratio")
    title = f"{result['images']} images" + (f", pipeline ratio {ratio:.1f}×" if ratio else "")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, metadata={"Software": None})
    plt.close(fig)
    return out
