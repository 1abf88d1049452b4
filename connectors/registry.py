"""An explicit registry of connector classes, extended by the `socmon.connectors` entry points."""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, cast

from pydantic import ValidationError

from connectors.base import Connector, ConnectorFactory, ConnectorOptions

log = logging.getLogger(__name__)

#: built-in connectors, imported lazily so that one SDK's absence cannot break the others
BUILTIN: dict[str, str] = {
    "demo": "connectors.demo:DemoConnector",
    "facebook": "connectors.facebook:FacebookPageConnector",
    "instagram": "connectors.instagram:InstagramConnector",
    "x": "connectors.x:XConnector",
    "reddit": "connectors.reddit:RedditConnector",
}

ENTRY_POINT_GROUP = "socmon.connectors"


class UnknownPlatform(LookupError):
    """No connector is registered under that platform name."""


class ConnectorConfigError(ValueError):
    """A channel's options or secrets are wrong; the message names the key."""


def _load(target: str) -> ConnectorFactory:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    return cast(ConnectorFactory, getattr(module, attr))


def available() -> dict[str, str]:
    """Every platform name with the import path of its class (built-ins, then entry points)."""
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep.value)
    return found


def get(platform: str) -> ConnectorFactory:
    """The connector class registered for `platform`."""
    targets = available()
    if platform not in targets:
        raise UnknownPlatform(
            f"unknown platform {platform!r}; expected one of: {', '.join(sorted(targets))}"
        )
    return _load(targets[platform])


def secret_env_name(channel: str, secret: str) -> str:
    """The environment variable a channel's secret is read from by default."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", channel).strip("_").upper()
    return f"SOCMON_{slug}_{secret.upper()}"


def validate_options(
    platform: str, options: Mapping[str, Any], *, key_prefix: str
) -> ConnectorOptions:
    """Validate a channel's options against its connector's model, naming the bad key."""
    factory = get(platform)
    try:
        return factory.options_model.model_validate(dict(options))
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConnectorConfigError(f"{key_prefix}.{where}: {err['msg']}") from None


def resolve_secrets(
    platform: str,
    channel: str,
    env: Mapping[str, str],
    *,
    overrides: Mapping[str, str] | None = None,
    key_prefix: str,
) -> dict[str, str]:
    """Read a channel's secrets from the environment; a missing one names its variable."""
    factory = get(platform)
    secrets: dict[str, str] = {}
    for name in factory.secret_names:
        var = (overrides or {}).get(name) or secret_env_name(channel, name)
        value = env.get(var)
        if not value:
            raise ConnectorConfigError(
                f"{key_prefix}.secrets.{name}: environment variable {var} is not set"
            )
        secrets[name] = value
    return secrets


def build(
    platform: str,
    *,
    channel: str,
    options: Mapping[str, Any],
    env: Mapping[str, str],
    secret_overrides: Mapping[str, str] | None = None,
    key_prefix: str = "channels",
) -> Connector:
    """Build a ready connector for one configured channel."""
    factory = get(platform)
    parsed = validate_options(platform, options, key_prefix=f"{key_prefix}.options")
    secrets = resolve_secrets(
        platform, channel, env, overrides=secret_overrides, key_prefix=key_prefix
    )
    return factory(channel=channel, options=parsed, secrets=secrets)
