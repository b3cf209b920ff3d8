"""Token minting for operators (same format as ``api.auth``: base64url(payload).base64url(HMAC)).

Kept free of the web stack so that ``proctor token issue`` need not import FastAPI.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

ROLES = frozenset({"driver", "reviewer", "adjudicator", "auditor", "admin"})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def issue_token(secret: bytes, subject: str, role: str, ttl_s: int = 3600) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    if len(secret) < 16:
        raise ValueError("token secret must be at least 16 bytes")
    payload = json.dumps(
        {"sub": subject, "role": role, "exp": int(time.time() + ttl_s)}, separators=(",", ":")
    )
    body = _b64(payload.encode())
    sig = hmac.new(secret, body.encode(), hashlib.sha256).digest()
    return body + "." + _b64(sig)
