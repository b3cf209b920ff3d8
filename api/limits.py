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
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ApiError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
VIDEO_TYPES = frozenset({"video/webm", "video/mp4"})
UPLOAD_SUFFIXES = ("/snapshots", "/enrollment", "/identity-review", "/reference-replacements")
BURST_SUFFIX = "/bursts"
# Multipart limits passed to every ``request.form()``: the upload routes take file parts
# only, so a text field (no filename) never needs more than a few bytes. File parts are
# bounded by the body cap; part headers by python-multipart (8 headers of <= 4,224 bytes).
FORM_FIELD_MAX_BYTES = 1024
FORM_MAX_FIELDS = 4

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


BURST_BODY_OPENAPI: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "frames": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "2-15 frames in capture order, about 2 s; each "
                            "image/jpeg, image/png or image/webp, unmirrored",
                        }
                    },
                    "required": ["frames"],
                }
            },
            **{t: {"schema": {"type": "string", "format": "binary"}} for t in sorted(VIDEO_TYPES)},
        },
    }
}


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, upload_max: int, json_max: int, burst_max: int | None = None
    ) -> None:
        self.app, self.upload_max, self.json_max = app, upload_max, json_max
        self.burst_max = upload_max if burst_max is None else burst_max

    def _cap(self, path: str) -> int:
        if path.endswith(BURST_SUFFIX):
            return self.burst_max
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
    try:
        form = await _parse_form(request, data, max_files=1)
    except Exception as exc:  # malformed multipart is the client's error
        raise ApiError("validation_error", "malformed multipart body") from exc
    try:
        item = form.get("image")
        if not isinstance(item, UploadFile):
            raise ApiError("validation_error", "multipart body needs an 'image' file")
        return await item.read()
    finally:
        await form.close()


async def _parse_form(request: Request, data: bytes, *, max_files: int) -> FormData:
    """Parse an already-read (capped) multipart body with every Starlette limit set: files,
    fields, and the size of a non-file part."""
    replay = [data]

    async def receive() -> Message:
        body = replay.pop() if replay else b""
        return {"type": "http.request", "body": body, "more_body": False}

    return await Request(request.scope, receive).form(
        max_files=max_files, max_fields=FORM_MAX_FIELDS, max_part_size=FORM_FIELD_MAX_BYTES
    )


def _parse_times(text: str) -> list[float]:
    """``"0,69,138"`` (ms) → seconds; a bad value is the client's error."""
    import math

    try:
        values = [float(v) / 1000.0 for v in text.split(",") if v.strip()]
    except ValueError:
        raise ApiError("validation_error", "frame_times_ms must be numbers") from None
    if len(values) > 1000 or not all(math.isfinite(v) for v in values):
        raise ApiError("validation_error", "frame_times_ms must be finite numbers")
    return values


async def read_burst(
    request: Request,
    *,
    max_frames: int,
    frame_max_bytes: int,
    times_out: list[float] | None = None,
) -> list[bytes] | bytes:
    """A burst: ``multipart/form-data`` with ``frames`` image parts (in order), or one raw
    ``video/webm`` / ``video/mp4`` clip body. The body cap was enforced before reading.

    Transport problems get their stable codes here, before any challenge is claimed:
    415 for a wrong body or part type, 413 ``burst_too_large`` for too many parts,
    413 ``image_too_large`` for one oversized frame, 422 ``empty_burst`` for no frame.

    ``times_out`` receives the optional ``frame_times_ms`` field (comma-separated ms
    from the light code's start, one per frame), as seconds; 422 ``validation_error``
    when it is not a list of numbers.
    """
    from proctor.errors import ImageTooLarge
    from proctor.liveness.errors import BurstTooLarge, EmptyBurst

    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in VIDEO_TYPES and ctype != "multipart/form-data":
        raise ApiError(
            "unsupported_media_type",
            "send multipart/form-data frames, video/webm or video/mp4",
            details={"content_type": ctype},
        )
    data = b"".join([chunk async for chunk in request.stream()])
    if ctype in VIDEO_TYPES:
        if not data:
            raise EmptyBurst("no clip bytes received")
        return data
    try:
        form = await _parse_form(request, data, max_files=max_frames)
    except Exception as exc:  # malformed multipart is the client's error
        if "Too many files" in str(exc):
            raise BurstTooLarge("too many frames", details={"max_frames": max_frames}) from None
        raise ApiError("validation_error", "malformed multipart body") from exc
    try:
        frames: list[bytes] = []
        for name, item in form.multi_items():
            if not isinstance(item, UploadFile):
                if name == "frame_times_ms" and times_out is not None:
                    times_out.extend(_parse_times(item))
                continue
            if name != "frames":
                raise ApiError(
                    "validation_error",
                    "burst frames are sent as 'frames' parts",
                    details={"field": name},
                )
            part = (item.content_type or "").split(";")[0].strip().lower()
            if part not in IMAGE_TYPES:
                raise ApiError(
                    "unsupported_media_type",
                    "every frame must be image/jpeg, image/png or image/webp",
                    details={"frame": len(frames), "content_type": part},
                )
            if item.size is not None and item.size > frame_max_bytes:
                raise ImageTooLarge(
                    "frame is too large",
                    details={"frame": len(frames), "max_bytes": frame_max_bytes},
                )
            frames.append(await item.read())
        if not frames:
            raise EmptyBurst("no frames received")
        return frames
    finally:
        await form.close()
