"""Aware-datetime helpers. Date arithmetic happens in Asia/Shanghai; instants stay aware.

A UTC instant is converted to Shanghai *before* ``.date()`` is taken, so 2025-10-16T15:30Z is
2025-10-16 23:30 local and belongs to 2025-10-16. Day ends are 24:00 local, i.e. the next
day's 00:00 (民法典 第203条).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def require_aware(at: datetime, name: str = "datetime") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {at.isoformat()}")
    return at


def local_date(at: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant."""
    return require_aware(at).astimezone(SHANGHAI).date()


def start_of_day(day: date) -> datetime:
    """00:00 Asia/Shanghai of ``day``, as an aware UTC instant."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(UTC)


def end_of_day(day: date) -> datetime:
    """24:00 Asia/Shanghai of ``day`` (exclusive bound), as an aware UTC instant."""
    return start_of_day(day + timedelta(days=1))
