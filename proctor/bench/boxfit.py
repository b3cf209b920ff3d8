"""Fit BlazeFace's box to dlib HOG's box convention on dev photos (``models/cards/blazeface.md``).

dlib's 5-point shape predictor was trained on HOG's boxes: fed a box of another
shape, its points shift and the aligned chip (and so the embedding) moves. This
fit finds the offset and scale that turn a BlazeFace box into the HOG box of the
same face, on photos where both detectors find exactly one face, and reports
how far the 5 points then land from where HOG's box puts them.

    python -m proctor.bench.boxfit --images images.tsv --sets asian-dev,lfw-dev
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

from proctor.errors import ImageError
from proctor.imaging.decode import DecodeLimits, decode_image


def fit_boxes(paths: list[Path], per_set_limit: int | None = None) -> dict[str, Any]:
    from proctor.detection.blazeface import BlazeFaceDetector
    from proctor.detection.dlib_hog import DlibHogDetector

    bf = BlazeFaceDetector()
    hog = DlibHogDetector()
    rows: list[tuple[float, float, float]] = []
    for path in paths[:per_set_limit] if per_set_limit else paths:
        try:
            rgb = decode_image(path.read_bytes(), DecodeLimits()).rgb
        except ImageError:
            continue
        h, b = hog.detect(rgb), bf.detect(rgb)
        if len(h) != 1 or len(b) != 1 or b[0].raw_box is None:
            continue
        x1, y1, x2, y2 = b[0].raw_box
        w = x2 - x1
        hb = h[0].bbox
        rows.append(
            (
                ((hb.x1 + hb.x2) / 2 - (x1 + x2) / 2) / w,
                ((hb.y1 + hb.y2) / 2 - (y1 + y2) / 2) / w,
                hb.width / w,
            )
        )
    arr = np.asarray(rows)
    med = np.median(arr, axis=0)
    spread = np.percentile(np.abs(arr - med), 90, axis=0)
    return {
        "faces": len(rows),
        "dx": round(float(med[0]), 4),
        "dy": round(float(med[1]), 4),
        "scale": round(float(med[2]), 4),
        "p90_abs_residual": [round(float(v), 4) for v in spread],
    }


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=Path, required=True, help="images.tsv")
    ap.add_argument("--sets", default="asian-dev,lfw-dev")
    ap.add_argument("--limit", type=int, default=400, help="images per set")
    a = ap.parse_args()
    root = a.images.parent
    out: dict[str, Any] = {}
    with a.images.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for name in a.sets.split(","):
        paths = [root / r["path"] for r in rows if r["set"] == name]
        out[name] = fit_boxes(paths, a.limit)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
