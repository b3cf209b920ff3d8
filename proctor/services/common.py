"""Shared helpers of the use cases: ids, errors, publishing session events."""

from __future__ import annotations

import random
from dataclasses import asdict
from datetime import datetime
from typing import Any

from proctor.errors import ProctorError
from proctor.services.ports import NotificationEvent, UnitOfWork
from proctor.session.events import SessionEvent, SessionTerminated

SYSTEM_ACTOR = "system"


class NotFound(ProctorError):
    code = "not_found"


class NotOwner(ProctorError):
    code = "not_owner"


class NotEnrolled(ProctorError):
    code = "not_enrolled"


class Blacklisted(ProctorError):
    code = "blacklisted"


def new_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def jsonable(value: Any) -> Any:
    """Event fields as JSON values (datetimes as ISO strings, tuples as lists)."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return value


def publish(uow: UnitOfWork, driver_id: str, events: list[SessionEvent]) -> None:
    """Every session event becomes an audit entry; terminations also notify the driver."""
    for ev in events:
        details = {k: jsonable(v) for k, v in asdict(ev).items() if k not in ("session_id", "at")}
        uow.audit.append(
            actor=SYSTEM_ACTOR, action=ev.name, subject=ev.session_id, details=details, at=ev.at
        )
        if isinstance(ev, SessionTerminated):
            uow.outbox.emit(
                NotificationEvent(
                    "session_terminated",
                    driver_id,
                    ev.at,
                    {"session_id": ev.session_id, "reason": ev.reason},
                )
            )
