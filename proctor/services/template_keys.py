"""Template-store keys of a driver's extra templates (issue 17); all sealed like the
reference itself, all erased with it when consent is withdrawn."""

from __future__ import annotations


def mirror_key(subject_key: str) -> str:
    """The mirrored authority photo's template: a mirrored copy lands next to it."""
    return f"mirror:{subject_key}"


def live_key(subject_key: str) -> str:
    """The newest 实人认证 live capture's template (a ``live_verified`` reference)."""
    return f"live:{subject_key}"


def pending_key(request_id: str) -> str:
    """A requested replacement's template, until a second staff member decides."""
    return f"pending:{request_id}"


def pending_mirror_key(request_id: str) -> str:
    return f"pending-mirror:{request_id}"


def extra_keys(subject_key: str) -> tuple[str, ...]:
    """What consent withdrawal erases besides the reference template and the anchors."""
    return mirror_key(subject_key), live_key(subject_key)
