"""HTTP plumbing shared by the SDK connectors: base-URL rewriting, timeouts, request counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

DEFAULT_TIMEOUT = 30.0


class TimeoutAdapter(HTTPAdapter):
    """Applies a default timeout: the SDKs otherwise wait for ever on a silent server."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        super().__init__()
        self.timeout = timeout

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Apply the default timeout, send."""
        return super().send(
            request, stream, timeout if timeout is not None else self.timeout, verify, cert, proxies
        )


class RewritingAdapter(TimeoutAdapter):
    """Sends requests for `real_prefix` to `target_prefix` instead (a local emulator, a proxy).

    tweepy has no base-URL option, so this is how a channel's `api_url` reaches it; the
    other SDKs use it too so every connector is pointed the same way. Signing (OAuth 1.0a)
    happens before the adapter, so signed calls still verify.
    """

    def __init__(
        self, real_prefix: str, target_prefix: str, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        super().__init__(timeout)
        self.real_prefix = real_prefix.rstrip("/")
        self.target_prefix = target_prefix.rstrip("/")

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Rewrite the URL prefix, then send with the default timeout."""
        url = request.url or ""
        if url.startswith(self.real_prefix):
            request.url = self.target_prefix + url[len(self.real_prefix) :]
        return super().send(request, stream, timeout, verify, cert, proxies)


class CountingSession(requests.Session):
    """A session that counts the HTTP requests it sends (for `Page.requests` and metrics)."""

    def __init__(self) -> None:
        super().__init__()
        self.request_count = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Count, then send."""
        self.request_count += 1
        return super().send(request, **kwargs)


def make_session(
    rewrites: Mapping[str, str | None] | None = None, *, timeout: float = DEFAULT_TIMEOUT
) -> CountingSession:
    """A counting session with timeouts and, for each real prefix given a target, a rewrite."""
    session = CountingSession()
    session.mount("https://", TimeoutAdapter(timeout))
    session.mount("http://", TimeoutAdapter(timeout))
    for real, target in (rewrites or {}).items():
        if target:
            session.mount(real.rstrip("/") + "/", RewritingAdapter(real, target, timeout))
    return session


def retry_after_seconds(headers: Mapping[str, str], *, now_epoch: float) -> float | None:
    """Seconds to wait, from `Retry-After` or an epoch reset header (X and Reddit shapes)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    value = lowered.get("retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    reset = lowered.get("x-rate-limit-reset")  # X: epoch seconds
    if reset is not None:
        try:
            return max(0.0, float(reset) - now_epoch)
        except ValueError:
            return None
    reset = lowered.get("x-ratelimit-reset")  # Reddit: seconds until the window resets
    if reset is not None:
        try:
            return max(0.0, float(reset))
        except ValueError:
            return None
    return None
