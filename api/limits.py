"""Body caps enforced before buffering, and image-body reading for upload routes.

``BodyLimitMiddleware`` answers 413 from ``Content-Length`` alone when it is over
the cap, and counts streamed bytes otherwise (chunked bodies), so an oversized
body is never held in memory. Upload routes take a raw ``image/jpeg``,
``image/png`` or ``image/webp`` body, or ``multipart/form-data`` with one
``image`` file; anything else is 415.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
UPLOAD_SUFFIXES = ("/snapshots", "/enrollment", "/identity-review")

IMAGE_BODY_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            **{t: {"schema": {"type": "string", "format": "binary"}} for t in sorted(IMAGE_TYPES)},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"image": {"type": "string", "format": "binary"}},
                    "required": ["image"],
                }
            },
        },
    }
}


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, upload_max: int, json_max: int) -> None:
        self.app, self.upload_max, self.json_max = app, upload_max, json_max

    def _cap(self, path: str) -> int:
        return self.upload_max if path.endswith(UPLOAD_SUFFIXES) else self.json_max

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self._cap(scope["path"])
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared > cap:
                await _reject(send, cap, str(scope.get("state", {}).get("request_id", "")))
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise StarletteHTTPException(413, f"body over {cap} bytes")
            return message

        await self.app(scope, counted, send)


async def _reject(send: Send, cap: int, request_id: str) -> None:
    body = json.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": f"body over {cap} bytes",
                "details": {"max_bytes": cap},
            },
            "request_id": request_id,
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def read_image(request: Request) -> bytes:
    """The image of an upload route (raw body or multipart ``image``)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in IMAGE_TYPES and ctype != "multipart/form-data":
        raise ApiError(
            "unsupported_media_type",
            "send image/jpeg, image/png, image/webp or multipart/form-data",
            details={"content_type": ctype},
        )
    chunks = [chunk async for chunk in request.stream()]
    data = b"".join(chunks)
    if ctype != "multipart/form-data":
        return data
    replay = [data]

    async def receive() -> Message:
        body = replay.pop() if replay else b""
        return {"type": "http.request", "body": body, "more_body": False}

    form_request = Request(request.scope, receive)
    try:
        form = await form_request.form(max_files=1, max_fields=4)
    except Exception as exc:  # malformed multipart is the client's error
        raise ApiError("validation_error", "malformed multipart body") from exc
    try:
        item = form.get("image")
        if not isinstance(item, UploadFile):
            raise ApiError("validation_error", "multipart body needs an 'image' file")
        return await item.read()
    finally:
        await form.close()
