"""The moderator web workspace: FastAPI app, pages, JSON API."""

from __future__ import annotations

from monitor.web.app import create_app

__all__ = ["create_app"]
