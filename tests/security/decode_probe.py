"""Subprocess worker: decode each file in a directory and report time, peak RSS growth and
process spawns, one JSON line per file. Run as ``python decode_probe.py DIR``.

Peak RSS growth is VmHWM after the decode minus VmRSS before it, with the high-water
mark reset first (``echo 5 > /proc/self/clear_refs``, Linux ≥ 4.0). Each file is decoded
twice: the faster time and the larger growth are reported. An audit hook counts every
subprocess/exec the decoder might start (Ghostscript for EPS, for instance).
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

SPAWNS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork"}
spawned: list[str] = []


def _hook(event: str, _args: object) -> None:
    if event in SPAWNS:
        spawned.append(event)


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def probe(data: bytes) -> tuple[str, float, int]:
    from proctor.errors import ImageError
    from proctor.imaging.decode import decode_image

    gc.collect()
    _reset_peak()
    before = _status("VmRSS")
    t0 = time.perf_counter()
    try:
        out = decode_image(data)
        outcome = "accepted"
        del out
    except ImageError as exc:
        outcome = exc.code
    except Exception as exc:  # reported, and the test fails on it
        outcome = f"crash:{type(exc).__name__}"
    elapsed = time.perf_counter() - t0
    return outcome, elapsed, _status("VmHWM") - before


def main(directory: str) -> None:
    import proctor.imaging.decode  # noqa: F401  (import cost outside the measurement)

    sys.addaudithook(_hook)
    _reset_peak()
    for path in sorted(Path(directory).iterdir()):
        data = path.read_bytes()
        spawned.clear()
        runs = [probe(data), probe(data)]
        outcome = runs[0][0]
        print(
            json.dumps(
                {
                    "file": path.name,
                    "bytes": len(data),
                    "outcome": outcome,
                    "stable": runs[1][0] == outcome,
                    "seconds": min(r[1] for r in runs),
                    "rss_growth": max(r[2] for r in runs),
                    "spawns": len(spawned),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main(sys.argv[1])
