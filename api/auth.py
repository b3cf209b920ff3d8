"""Signed, expiring bearer tokens carrying a subject and a role.

Format: ``base64url(json payload) "." base64url(HMAC-SHA256(secret, payload))``.
The payload holds ``sub``, ``role`` and ``exp`` (Unix seconds). No external JWT
library: the format is small and the verification is constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    DRIVER = "driver"
    REVIEWER = "reviewer"
    ADJUDICATOR = "adjudicator"
    AUDITOR = "auditor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role


class TokenInvalid(Exception):
    pass


# No token lives longer than this (the CLI's --ttl included): a larger ``exp`` is forged
# or absurd (issue 17: ``exp: 1e400`` once gave a 500).
MAX_LIFETIME_S = 366 * 24 * 3600


def _claims(data: object) -> tuple[str, str, int]:
    """``sub``, ``role`` and ``exp`` with their exact JSON types, or TokenInvalid."""
    if not isinstance(data, dict):
        raise TokenInvalid("malformed token")
    sub, role, exp = data.get("sub"), data.get("role"), data.get("exp")
    if not isinstance(sub, str) or not 0 < len(sub) <= 128:
        raise TokenInvalid("malformed token")
    if not isinstance(role, str) or not isinstance(exp, int) or isinstance(exp, bool):
        raise TokenInvalid("malformed token")
    return sub, role, exp


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: bytes, ttl_s: int = 3600) -> None:
        if len(secret) < 16:
            raise ValueError("token secret must be at least 16 bytes")
        self._secret = secret
        self.ttl_s = ttl_s

    def issue(self, subject: str, role: Role, now: float | None = None) -> str:
        exp = int((now if now is not None else time.time()) + self.ttl_s)
        payload = json.dumps(
            {"sub": subject, "role": role.value, "exp": exp}, separators=(",", ":")
        )
        body = _b64(payload.encode())
        return body + "." + _b64(self._sign(body))

    def verify(self, token: str, now: float | None = None) -> Principal:
        try:
            body, sig = token.split(".", 1)
            expected = self._sign(body)
            if not hmac.compare_digest(expected, _unb64(sig)):
                raise TokenInvalid("bad signature")
            data = json.loads(_unb64(body))
            t = now if now is not None else time.time()
            sub, role, exp = _claims(data)
            if exp < t:
                raise TokenInvalid("token expired")
            if exp > t + MAX_LIFETIME_S:
                raise TokenInvalid("token lifetime out of range")
            return Principal(sub, Role(role))
        except TokenInvalid:
            raise
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:
            raise TokenInvalid("malformed token") from exc

    def _sign(self, body: str) -> bytes:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).digest()
