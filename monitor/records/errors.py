"""The records domain's errors, each with a message fit to show as it is."""

from __future__ import annotations


class RecordsError(ValueError):
    """A records request cannot be done as asked; the message says why."""


class NotAllowed(RecordsError):
    """The person's role may not do this."""


class NotFound(RecordsError):
    """The hold, alert, channel or review named does not exist."""
