"""Crash test (SECURITY.md DB2): a writer process is killed with SIGKILL at random points
while it records attempts; after each restart every acknowledged write is present,
multi-row units are whole, ``PRAGMA integrity_check`` is ok and the audit chain verifies.

Writers are forked from the test process (cheap, so 200 kills fit in CI time); set
``PROCTOR_CRASH_KILLS`` for more. A write is acknowledged only after ``commit``
returned, exactly as an HTTP 2xx would be.
"""

from __future__ import annotations

import os
import random
import select
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlalchemy import select as sa_select

from proctor.clock import SystemClock
from proctor.services.sessions import SessionService
from proctor.session.states import SessionKind
from proctor.storage.tables import AttemptRow
from proctor.storage.uow import Storage, open_storage
from proctor.testing.fakes import FakeVerifier, fake_image, fake_policy

KEY = bytes(range(32))
KILLS = int(os.environ.get("PROCTOR_CRASH_KILLS", "200"))


def _writer(storage: Storage, ack_fd: int, seed: int) -> None:
    """Child body: record attempts forever, acknowledging each committed one."""
    svc = SessionService(
        storage.uow, FakeVerifier(), SystemClock(), policy=fake_policy()
    )  # CSPRNG ids
    rnd = random.Random(seed)
    n = 0
    while True:
        view = svc.open_session("driver", SessionKind.STUDY)
        challenge = view.challenge
        while challenge is not None:
            n += 1
            person = "obama" if rnd.random() < 0.6 else "biden"
            res = svc.submit_snapshot(
                view.session_id, "driver", challenge.id, fake_image(person, seed * 10_000 + n)
            )
            os.write(ack_fd, f"{challenge.id} {res.attempt_no}\n".encode())
            challenge = res.session.challenge if res.session.state == "active" else None
            if res.passed:
                break


def _run_and_kill(storage: Storage, seed: int, delay_s: float) -> list[str]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            _writer(storage, w, seed)
        finally:
            os._exit(0)
    os.close(w)
    deadline = time.monotonic() + delay_s
    chunks: list[bytes] = []
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([r], [], [], left)
        if ready:
            chunk = os.read(r, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    while chunk := os.read(r, 65536):  # acks written before the kill
        chunks.append(chunk)
    os.close(r)
    return [line for line in b"".join(chunks).decode().splitlines() if line]


@pytest.mark.db
@pytest.mark.slow
def test_sigkill_never_loses_acknowledged_writes(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'crash.db'}"
    storage = open_storage(db_url, data_dir=tmp_path, master_key=KEY)
    SessionService(storage.uow, FakeVerifier(), SystemClock(), policy=fake_policy()).enroll(
        "driver", [fake_image("obama", 0)]
    )
    for _ in range(3):  # warm the statement cache once, in the parent
        _run_and_kill(storage, 0, 0.3)
        storage.engine.dispose()  # no open connection crosses a fork
    rnd = random.Random(1234)
    acked: dict[str, int] = {}
    started = time.monotonic()
    for kill in range(KILLS):
        delay = rnd.choice([0.0, 0.002, 0.01]) if kill % 5 == 0 else rnd.uniform(0.0, 0.25)
        for line in _run_and_kill(storage, kill + 1, delay):
            challenge_id, attempt_no = line.split()
            acked[challenge_id] = int(attempt_no)
        if kill % 50 == 49 or kill == KILLS - 1:
            _check(storage_url=db_url, data_dir=tmp_path, acked=acked)
    assert len(acked) > KILLS / 2, "writers barely wrote; kill points are not inside writes"
    elapsed = time.monotonic() - started
    _record(kills=KILLS, acked=len(acked), elapsed_s=elapsed)
    assert elapsed < 600 * max(1.0, KILLS / 200)


def _record(*, kills: int, acked: int, elapsed_s: float) -> None:
    """The figure for SECURITY.md DB2 (git-ignored artefact; appended per run)."""
    out = Path(__file__).resolve().parents[2] / "var" / "artifacts" / "security"
    out.mkdir(parents=True, exist_ok=True)
    line = (
        f"| {time.strftime('%Y-%m-%d %H:%M')} | {kills} | {acked} | 0 | ok | ok "
        f"| {elapsed_s:.0f} s |\n"
    )
    path = out / "crash.md"
    if not path.exists():
        path.write_text(
            "| run | SIGKILLs | acknowledged writes | lost | integrity_check | audit chain "
            "| time |\n|---|---|---|---|---|---|---|\n"
        )
    with path.open("a") as fh:
        fh.write(line)


def _check(storage_url: str, data_dir: Path, acked: dict[str, int]) -> None:
    storage = open_storage(storage_url, data_dir=data_dir, master_key=KEY)
    try:
        with storage.engine.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        with storage.uow() as uow:
            rows = dict(
                uow.db.execute(sa_select(AttemptRow.challenge_id, AttemptRow.attempt_no)).all()
            )
            missing = [c for c in acked if c not in rows]
            assert not missing, f"{len(missing)} acknowledged attempts lost"
            assert all(rows[c] == n for c, n in acked.items())
            # multi-row units are whole: counters agree with the attempt rows, flags exist
            for (sid,) in uow.db.execute(text("SELECT id FROM proctor_session")).all():
                s = uow.sessions.get(sid)
                assert s is not None
                run = 0
                for a in s.attempts:
                    run = 0 if a.passed else run + 1
                assert s.consecutive_failures == run
                flagged = [a.attempt_no for a in s.attempts if a.flags]
                if flagged:
                    flag_nos: set[int] = set()
                    for (body,) in uow.db.execute(
                        text("SELECT body FROM flag WHERE session_id = :s"), {"s": sid}
                    ).all():
                        import json

                        flag_nos |= set(json.loads(body)["attempt_nos"])
                    assert set(flagged) <= flag_nos
            total = uow.db.execute(sa_select(func.count()).select_from(AttemptRow)).scalar_one()
            assert total >= len(acked)
        report = storage.verify_audit()
        assert report.ok, report
    finally:
        storage.engine.dispose()
