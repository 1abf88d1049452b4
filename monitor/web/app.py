"""The FastAPI application: middleware (sessions, CSRF, headers), error pages, routers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from asgi_csrf import asgi_csrf  # type: ignore[import-untyped]
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from monitor import alerts, users
from monitor.db import readonly_factory
from monitor.runtime import Runtime
from monitor.web import api, lab_suite, lab_views, records, records_views, removals, views
from monitor.web.actions import BadInput
from monitor.web.authheader import DropAuthorization
from monitor.web.bodylimit import BodySizeLimit
from monitor.web.deps import Forbidden, NotAuthenticated, WebState
from monitor.web.formguard import FormGuard
from monitor.web.maintenance import analyze_sqlite
from monitor.web.security import LoginLimiter, derive_key, session_secret

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
SESSION_COOKIE = "socmon_session"
SESSION_MAX_AGE = 12 * 3600
#: a year; no includeSubDomains, since other hosts under the domain may not have HTTPS
HSTS = "max-age=31536000"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _fmt_dt(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def _fmt_time(value: datetime | None) -> str:
    return value.strftime("%H:%M") if value else ""


def make_templates() -> Jinja2Templates:
    """Jinja templates with autoescaping on for every file (comment text is untrusted)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                             autoescape=True)
    env.filters["dt"] = _fmt_dt
    env.filters["hm"] = _fmt_time
    return Jinja2Templates(env=env)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, message: str) -> Response:
    if _is_api(request):
        return JSONResponse({"detail": message}, status_code=status)
    state: WebState = request.app.state.web
    return state.templates.TemplateResponse(
        request, "error.html", {"status": status, "message": message, "user": None,
                                "csrf": "", "flashes": [], "nav": ""},
        status_code=status)


async def _csrf_failed(scope: dict[str, Any], send: Callable[[dict[str, Any]], Awaitable[None]],
                       _message_id: Any) -> None:
    body = b'{"detail":"CSRF check failed: reload the page and try again"}'
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def create_app(runtime: Runtime) -> FastAPI:
    """The web app for `runtime` (pages, JSON API under /api/v1, OpenAPI at /api/docs)."""
    settings = runtime.settings
    secret = session_secret(settings, runtime.factory)
    analyze_sqlite(runtime.engine)
    secure = settings.web.public_url.lower().startswith("https://")
    # No Swagger UI: it loads from a CDN that the CSP (and an offline server) blocks;
    # /api/docs is a page of our own linking the OpenAPI JSON.
    app = FastAPI(title="socmon", version="1", docs_url=None, redoc_url=None,
                  swagger_ui_oauth2_redirect_url=None, openapi_url="/api/openapi.json",
                  description="The moderator workspace's JSON API. Sign in through /login; "
                  "send the `csrftoken` cookie's value as the `x-csrftoken` header on POSTs.")
    app.state.web = WebState(runtime=runtime, read_factory=readonly_factory(runtime.engine),
                             templates=make_templates(), limiter=LoginLimiter(),
                             secure_cookies=secure)

    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, _exc: NotAuthenticated) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": "not signed in"}, status_code=401)
        target = request.url.path
        if request.method == "GET" and request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(views.login_url(target), status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return _error(request, 403, str(exc))

    @app.exception_handler(alerts.NotFound)
    async def _not_found(request: Request, exc: alerts.NotFound) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(alerts.InvalidTransition)
    async def _conflict(request: Request, exc: alerts.InvalidTransition) -> Response:
        return _error(request, 409, str(exc))

    @app.exception_handler(BadInput)
    async def _bad_input(request: Request, exc: BadInput) -> Response:
        return _error(request, 422, str(exc))

    @app.exception_handler(users.UserError)
    async def _user_error(request: Request, exc: users.UserError) -> Response:
        status = 404 if isinstance(exc, users.UnknownUser) else (
            409 if isinstance(exc, users.UserExists) else 422)
        return _error(request, status, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                                headers=exc.headers)
        return _error(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            # Field names and messages only: the rejected input may be comment text.
            errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")}
                      for e in exc.errors()]
            return JSONResponse({"detail": errors}, status_code=422)
        return _error(request, 422, "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: {e.get('msg', '')}"
            for e in exc.errors()))

    @app.middleware("http")
    async def _headers(request: Request,
                       call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if secure:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(SessionMiddleware, secret_key=derive_key(secret, "session"),
                       session_cookie=SESSION_COOKIE, max_age=SESSION_MAX_AGE,
                       same_site="lax", https_only=secure)
    app.add_middleware(asgi_csrf, signing_secret=derive_key(secret, "csrf"),
                       always_protect={"/login"}, cookie_secure=secure,
                       send_csrf_failed=_csrf_failed)
    app.add_middleware(FormGuard)
    app.add_middleware(DropAuthorization)
    # The last added runs first: the size limit comes before anything that reads a body.
    app.add_middleware(BodySizeLimit, max_bytes=settings.web.max_body_bytes)
    # Outermost: the client address is the proxy's claim only when the proxy is trusted.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.web.trusted_proxies)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(views.router)
    app.include_router(api.router)
    app.include_router(removals.router)
    app.include_router(records_views.router)
    app.include_router(lab_views.router)
    app.include_router(records.router)
    app.include_router(lab_suite.router)
    return app
