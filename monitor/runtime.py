"""The assembled application: settings, database, classifier and one connector per channel."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from classifiers.base import Classifier
from classifiers.base import ProtectedName as Name
from config.loader import ConfigError
from config.settings import ChannelConfig, Settings
from connectors import registry as connector_registry
from connectors.base import Connector
from monitor import changes, db, model_registry
from monitor.leases import owner_id
from monitor.live_policy import build_classifier, lab_version, live_policy
from monitor.models import AuditEvent, ProtectedName
from monitor.poller import sync_channels

log = logging.getLogger(__name__)


def channel_options(settings: Settings, channel: ChannelConfig) -> dict[str, Any]:
    """A channel's options, with the demo's state file defaulting into the data directory."""
    options = dict(channel.options)
    if channel.platform == "demo":
        options.setdefault("state_path", str(settings.data_dir / f"demo-{channel.name}.json"))
    return options


def build_connectors(settings: Settings, env: Mapping[str, str]) -> dict[str, Connector]:
    """One connector per enabled channel; a bad option or missing secret is a ConfigError."""
    built: dict[str, Connector] = {}
    for index, channel in enumerate(settings.channels):
        prefix = f"channels[{index}]"
        try:
            built[channel.name] = connector_registry.build(
                channel.platform,
                channel=channel.name,
                options=channel_options(settings, channel),
                env=env,
                secret_overrides=channel.secrets,
                key_prefix=prefix,
            )
        except connector_registry.UnknownPlatform as exc:
            raise ConfigError(f"{prefix}.platform: {exc}") from None
        except connector_registry.ConnectorConfigError as exc:
            raise ConfigError(str(exc)) from None
    return built


#: the audit action every change of the names register records (`socmon names import`)
NAMES_CHANGED = "names.import"


def names_version(session: Session) -> int:
    """Which state of the register this is: the audit sequence of its latest change (0: none).

    Every change goes through `socmon names import`, which records `NAMES_CHANGED` in the
    same transaction, so a new version is visible exactly when the new names are.
    """
    latest = session.execute(
        select(func.max(AuditEvent.seq)).where(AuditEvent.action == NAMES_CHANGED)
    ).scalar_one()
    return int(latest or 0)


def load_names(session: Session) -> list[Name]:
    """The register of protected names, as the classifier takes it."""
    rows = session.execute(select(ProtectedName)).scalars()
    return [Name(r.first_name, r.last_name, r.role, tuple(r.aliases or ())) for r in rows]


@dataclass
class Runtime:
    """Everything a command or the daemon needs, built once."""

    settings: Settings
    engine: Engine
    factory: sessionmaker[Session]
    connectors: dict[str, Connector]
    owner: str = field(default_factory=owner_id)
    #: the audit event recording this process's new judging configuration (None: unchanged)
    config_change_seq: int | None = None
    _classifier: Classifier | None = None
    #: (names register, lab policy) versions the classifier was built with
    _names_version: tuple[int, int] = (-1, -1)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def classifier(self) -> Classifier:
        """The classifier, built lazily with the current names register."""
        with self._lock:
            if self._classifier is None:
                self._classifier = self._build_classifier()
            return self._classifier

    def reload_classifier(self) -> None:
        """Rebuild after the names register or the model changed."""
        with self._lock:
            self._classifier = self._build_classifier()

    def current_classifier(self) -> Classifier:
        """The classifier, rebuilt first if the names register or the lab's policy changed.

        Polls ask for it before each pass (two indexed queries), so a pupil added with
        `socmon names import`, or a rule promoted in the policy lab, while the daemon runs
        is applied from the next poll on.
        """
        with self.factory() as session:
            version = (names_version(session), lab_version(session))
        if version != self._names_version and self._classifier is not None:
            log.info("the names register or the lab's policy changed; reloading the classifier")
            self.reload_classifier()
        return self.classifier

    def _build_classifier(self) -> Classifier:
        with self.factory() as session:
            self._names_version = (names_version(session), lab_version(session))
            names = load_names(session)
            policy = live_policy(session, self.settings)
            try:
                model_dir = model_registry.active_model_path(session, self.settings.data_dir)
            except model_registry.ModelFilesMissing as exc:
                log.error("%s; serving the packaged model", exc)
                model_dir = None
        return build_classifier(self.settings.classifier.name, policy, names=names,
                                model_dir=model_dir)

    def channel_config(self, name: str) -> ChannelConfig:
        """The configured channel called `name`."""
        for channel in self.settings.channels:
            if channel.name == name:
                return channel
        raise ConfigError(f"no channel named {name!r} in the config")

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


def build_runtime(
    settings: Settings, *, env: Mapping[str, str] | None = None, migrate: bool = True,
    change_reason: str | None = None,
) -> Runtime:
    """Validate channels, open the database (migrating it), register the channels.

    A judging configuration that differs from the last recorded is audited here, before
    anything can judge with it, with `change_reason` (else $SOCMON_CHANGE_REASON, else a
    reason noted with `socmon changes note`, else "not given").
    """
    environment = os.environ if env is None else env
    connectors = build_connectors(settings, environment)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.sqlalchemy_url())
    if migrate:
        db.upgrade(engine)
    factory = db.session_factory(engine)
    with db.transaction(factory) as session:
        sync_channels(session, settings.channels)
        change = changes.record_if_changed(
            session, settings, actor=changes.process_actor(),
            reason=change_reason or environment.get(changes.REASON_ENV))
        change_seq = None if change is None else change.seq
    return Runtime(settings=settings, engine=engine, factory=factory, connectors=connectors,
                   config_change_seq=change_seq)
