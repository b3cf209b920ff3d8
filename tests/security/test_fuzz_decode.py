"""SECURITY.md I3: a bounded atheris run on the decode path, in the default test run.

``PROCTOR_FUZZ_SECONDS`` sets the duration (default 120 s; the nightly/long run sets
hours). Each input must finish within 1 s (libFuzzer ``-timeout=1``); any exception
other than an ``ImageError`` or a crash of the process fails the test. The execution
count goes to var/artifacts/security/fuzz.md.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from .artifacts import ARTIFACTS
from .corpus import Sample

TARGET = Path(__file__).with_name("fuzz_decode.py")
SECONDS = int(os.environ.get("PROCTOR_FUZZ_SECONDS", "120"))


def tiny(ext: str) -> bytes:
    img = np.random.default_rng(1).integers(0, 255, (24, 32, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(ext, img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1] if ext == ".jpg" else [])
    assert ok
    return bytes(buf.tobytes())


@pytest.mark.slow
def test_decode_survives_fuzzing(hostile: list[Sample], tmp_path: Path) -> None:
    pytest.importorskip("atheris", reason="atheris is in the dev extra (pip install -e .[dev])")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    # Small seeds that decode in milliseconds (the 4K at-the-cap files would make every
    # mutation a 50-400 ms decode and starve the fuzzer).
    seeds = [
        s.data
        for s in hostile
        if 0 < len(s.data) <= 64 * 1024 and "cap" not in s.name and "scans" not in s.name
    ]
    seeds += [tiny(ext) for ext in (".jpg", ".png", ".webp")]
    for i, data in enumerate(seeds):
        (corpus / f"seed-{i:03d}").write_bytes(data)
    started = time.monotonic()
    # Through a shell that forks the fuzzer: Linux carries a process's peak RSS across
    # exec, and subprocess (vfork + exec) would hand the fuzzer this pytest process's peak
    # (about 2.9 GB late in the full suite), which libFuzzer's -rss_limit_mb then reports
    # as an out-of-memory finding on whatever input happens to be running.
    run = subprocess.run(
        [
            "sh",
            "-c",
            '"$0" "$@"; exit $?',
            sys.executable,
            str(TARGET),
            f"-max_total_time={SECONDS}",
            "-timeout=1",
            "-rss_limit_mb=2048",
            "-max_len=65536",
            f"-artifact_prefix={tmp_path}/",
            "-print_final_stats=1",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS + 300,
        env={**os.environ, "OPENCV_LOG_LEVEL": "ERROR"},
        check=False,
        cwd=tmp_path,
    )
    elapsed = time.monotonic() - started
    log = run.stderr
    done = re.search(r"Done (\d+) runs in (\d+) second", log)
    execs = int(done.group(1)) if done else 0
    findings = sorted(
        p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-"))
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with (ARTIFACTS / "fuzz.md").open("a") as fh:
        fh.write(
            f"| {time.strftime('%Y-%m-%d %H:%M')} | {SECONDS} s | {execs:,} | "
            f"{execs / max(elapsed, 1):.0f}/s | {len(findings)} | rc={run.returncode} |\n"
        )
    assert run.returncode == 0 and not findings, (findings, log[-3000:])
    assert execs > 100 * SECONDS, f"only {execs} executions: the target barely ran\n{log[-2000:]}"
