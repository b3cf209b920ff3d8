"""Webhook sender: POST the message as JSON to the SMS/app gateway, signed.

Signature: ``X-Proctor-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>``
with ``X-Proctor-Timestamp`` (Unix seconds) and the idempotency key in ``Idempotency-Key``.
The receiver recomputes the MAC over the exact body bytes, compares in constant time and
refuses timestamps older than a few minutes (:func:`verify_signature`), so a captured
request cannot be replayed later or altered. Plain ``http://`` is accepted only to a
loopback host; redirects are not followed (a 3xx is a configuration error).

Outcomes: 2xx delivered; 408, 429, 5xx, timeouts and connection errors are retried with
backoff; any other status is permanent and the message is parked at once.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import ssl
from urllib.parse import urlsplit

from proctor.clock import Clock
from proctor.notifications.messages import Notification
from proctor.notifications.sender import DeliveryFailed

SIGNATURE_HEADER = "X-Proctor-Signature"
TIMESTAMP_HEADER = "X-Proctor-Timestamp"
RETRYABLE_STATUS = frozenset({408, 425, 429})
DEFAULT_TOLERANCE_S = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_signature(
    secret: bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    now_s: float,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
) -> bool:
    """The receiver's check: a well-formed, fresh timestamp and a matching MAC."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now_s - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookSender:
    name = "webhook"

    def __init__(self, url: str, secret: bytes, clock: Clock, timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"https", "http"} or not parts.hostname:
            raise ValueError("the webhook URL must be http(s)://host/...")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError("a webhook to another host must use https")
        if len(secret) < 16:
            raise ValueError("the webhook secret must be at least 16 bytes")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._secret = secret
        self._clock = clock
        self._timeout_s = timeout_s
        self._tls = ssl.create_default_context() if self._https else None

    def send(self, message: Notification) -> None:
        body = json.dumps(message.to_json(), ensure_ascii=False, sort_keys=True).encode()
        ts = int(self._clock.now().timestamp())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message.message_id,
            TIMESTAMP_HEADER: str(ts),
            SIGNATURE_HEADER: sign(self._secret, ts, body),
            "User-Agent": "proctor-notifications/1",
        }
        conn: http.client.HTTPConnection
        if self._tls is not None:
            conn = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout_s, context=self._tls
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
        try:
            conn.request("POST", self._path, body=body, headers=headers)
            response = conn.getresponse()
            response.read(4096)  # drain a little; the body is never logged or stored
            status = response.status
        except TimeoutError:
            raise DeliveryFailed("timeout", retryable=True) from None
        except (OSError, http.client.HTTPException) as exc:
            raise DeliveryFailed(f"connection:{type(exc).__name__}", retryable=True) from None
        finally:
            conn.close()
        if 200 <= status < 300:
            return
        retryable = status >= 500 or status in RETRYABLE_STATUS
        raise DeliveryFailed(f"http_{status}", retryable=retryable)
