"""The unauthenticated dev token endpoint must never face a network (issue 17).

``proctor serve`` and ``create_app`` call :func:`refuse_public_dev_tokens`: with
``PROCTOR_DEV_TOKEN_ENDPOINT=true`` a non-loopback bind address refuses to start, and a
loopback one logs a loud warning. The route itself also answers 404 to a request that
reached a non-loopback server address (uvicorn started by hand with ``--host 0.0.0.0``).
"""

from __future__ import annotations

import ipaddress
import logging

log = logging.getLogger("proctor.api")


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class DevTokensOnPublicBind(RuntimeError):
    pass


def refuse_public_dev_tokens(dev_token_endpoint: bool, host: str) -> None:
    """Raise on a non-loopback bind with the dev token endpoint on; warn loudly otherwise."""
    if not dev_token_endpoint:
        return
    if not is_loopback(host):
        raise DevTokensOnPublicBind(
            f"PROCTOR_DEV_TOKEN_ENDPOINT=true on a non-loopback address ({host}): anyone "
            "could mint admin tokens. Turn it off or bind to 127.0.0.1."
        )
    banner = "!" * 78
    log.warning(
        "\n%s\n!! DEV TOKEN ENDPOINT IS ON: POST /v1/dev/tokens gives ANY token, admin\n"
        "!! included, to ANYONE who can reach %s. Development only; never in production.\n%s",
        banner,
        host,
        banner,
    )
