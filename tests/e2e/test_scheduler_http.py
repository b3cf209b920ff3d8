"""The scheduler inside the served app: started by the lifespan, delivering the outbox
through the file sender, visible to admins (parked list, requeue, scheduler status,
metrics), stopped at shutdown; off with PROCTOR_SCHEDULER_ENABLED=false."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from api.auth import Role
from proctor.services.ports import NotificationEvent
from proctor.storage.uow import open_storage
from tests.e2e.conftest import Served, settings, token

ADMIN = token("ops-admin", Role.ADMIN)


def emit(data_dir: Path, *events: tuple[str, dict[str, object]]) -> None:
    """Another writer on the service's database (as a use case would write)."""
    st = open_storage(f"sqlite:///{data_dir / 'proctor.db'}", data_dir=data_dir)
    with st.uow() as uow:
        for kind, payload in events:
            uow.outbox.emit(NotificationEvent(kind, "driver-e2e", datetime.now(UTC), payload))
        uow.commit()
    st.engine.dispose()


def wait_for(predicate: object, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    from api.main import create_app

    tmp = tmp_path_factory.mktemp("sched")
    srv = Served(
        create_app(
            settings(
                tmp,
                notify_sender="file",
                notify_dispatch_interval_s=0.5,
                scheduler_poll_s=0.1,
            )
        )
    )
    yield srv, tmp
    srv.stop()


def test_served_scheduler_delivers_the_outbox_and_admins_see_it(
    served: tuple[Served, Path],
) -> None:
    srv, tmp = served
    emit(tmp, ("exam_result", {"passed": "true"}), ("mystery_kind", {}))
    out = tmp / "notifications.jsonl"

    def delivered() -> bool:
        return out.exists() and "exam_result" in out.read_text(encoding="utf-8")

    wait_for(delivered, "the file sender's line")
    (line,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert line["text"].startswith("【学法减分】您已通过学法减分考试")
    with httpx.Client(base_url=srv.url, timeout=30) as client:
        r = client.get("/v1/admin/notifications/parked", headers=token("d", Role.DRIVER))
        assert r.status_code == 403
        body = client.get("/v1/admin/notifications/parked", headers=ADMIN).json()
        assert body["sender"] == "file"
        (parked,) = body["parked"]
        assert (parked["kind"], parked["reason"]) == ("mystery_kind", "no_template")
        assert "text" not in parked and "payload" not in parked
        status = client.get("/v1/admin/scheduler", headers=ADMIN).json()
        assert status["enabled"] and status["running"]
        assert {"notifications.dispatch", "evidence.purge"} <= set(status["jobs"])
        assert any(
            x["job"] == "notifications.dispatch" and x["token"] >= 1 for x in status["leases"]
        )
        metrics = client.get("/metrics", headers=ADMIN).text
        assert "proctor_notifications_parked 1.0" in metrics
        assert 'proctor_notifications_dispatched_total{outcome="delivered"} 1.0' in metrics
        assert 'proctor_scheduler_runs_total{job="notifications.dispatch",status="ok"}' in metrics
        assert 'proctor_scheduler_last_run_ok{job="notifications.dispatch"} 1.0' in metrics
        assert 'proctor_scheduler_last_finished_age_seconds{job="evidence.purge"}' in metrics
        url = f"/v1/admin/notifications/{parked['outbox_id']}/requeue"
        assert client.post(url, headers=ADMIN).status_code == 204
        # (the running dispatcher parks it again: the kind still has no text)
        r = client.post("/v1/admin/notifications/999999/requeue", headers=ADMIN)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert client.get("/v1/audit/verify", headers=token("aud", Role.AUDITOR)).json()["ok"]
    scheduler = srv.app.state.container.scheduler
    srv.stop()
    assert not scheduler.running  # the lifespan stopped it


def test_scheduler_off_switch(tmp_path: Path) -> None:
    from api.main import create_app

    srv = Served(create_app(settings(tmp_path, scheduler_enabled=False)))
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as client:
            status = client.get("/v1/admin/scheduler", headers=ADMIN).json()
        assert status["enabled"] is False and status["running"] is False
    finally:
        srv.stop()
