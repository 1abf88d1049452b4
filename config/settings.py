"""The settings schema: YAML file plus `SOCMON_*` environment overrides, validated by pydantic."""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from classifiers.base import Label, Severity

# The config names roles (who is notified, whose addresses); their one home is the people
# domain, a module with no dependencies. Re-exported for callers that know it from here.
from monitor.people.roles import Role as Role

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: Any) -> Any:
    """Accept 90, "90s", "15m", "1h", "3d", "1w" as well as timedeltas and ISO 8601."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class Strict(BaseModel):
    """Base of every config section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ChannelConfig(Strict):
    """One official channel to watch."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    platform: str
    enabled: bool = True
    interval: Duration = timedelta(minutes=5)
    options: dict[str, Any] = Field(default_factory=dict)
    #: secret name -> environment variable, when not the default SOCMON_<CHANNEL>_<SECRET>
    secrets: dict[str, str] = Field(default_factory=dict)


class RouteRule(Strict):
    """Alerts carrying `label` go to `queue`; `notify` roles hear at once when critical."""

    label: Label
    queue: str
    notify: list[Role] = Field(default_factory=list)
    deadline: Duration | None = None


class Deadlines(Strict):
    """Time to act, by severity (the taxonomy's defaults)."""

    critical: Duration = timedelta(hours=1)
    high: Duration = timedelta(hours=24)
    low: Duration = timedelta(hours=72)


def _default_routes() -> list[RouteRule]:
    return [
        RouteRule(label="safeguarding", queue="safeguarding", notify=[Role.SAFEGUARDING_LEAD]),
        RouteRule(label="threat", queue="urgent", notify=[Role.MANAGER, Role.SAFEGUARDING_LEAD]),
        RouteRule(label="identifying", queue="moderation"),
        RouteRule(label="hate", queue="moderation", notify=[Role.MANAGER]),
        RouteRule(label="abuse", queue="moderation"),
        RouteRule(label="sexual", queue="moderation"),
        RouteRule(label="spam", queue="moderation"),
        RouteRule(label="profanity", queue="moderation"),
    ]


class Routing(Strict):
    """How flags become alerts: the first rule whose label the verdict carries wins."""

    deadlines: Deadlines = Field(default_factory=Deadlines)
    rules: list[RouteRule] = Field(default_factory=_default_routes)
    #: severities below this open no alert (the verdict is still stored)
    min_severity: Severity = Severity.LOW

    @field_validator("min_severity")
    @classmethod
    def _alert_severity(cls, value: Severity) -> Severity:
        if value is Severity.NONE:
            raise ValueError("expected low, high or critical")
        return value


class ClassifierConfig(Strict):
    """Which classifier labels items, and how eager it is."""

    name: str = "policy"
    #: 0 = flag only the surest, 1 = flag anything plausible
    sensitivity: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    #: per-label score thresholds overriding the sensitivity, e.g. {abuse: 0.6}
    thresholds: dict[Label, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict
    )
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 256


class Takedown(Strict):
    """The outbox worker that performs takedowns and verifies them."""

    worker_interval: Duration = timedelta(seconds=5)
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    verify_after: Duration = timedelta(minutes=1)


class Web(Strict):
    """The moderator web UI."""

    enabled: bool = True
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080
    #: the address people use (links in e-mails); defaults to http://host:port
    public_url: str = ""
    #: largest request body accepted, in bytes; larger ones get 413 before they are read
    max_body_bytes: Annotated[int, Field(ge=1024, le=1024**3)] = 1024 * 1024
    #: proxies (addresses or CIDRs) whose X-Forwarded-For names the real client
    trusted_proxies: list[str] = Field(default_factory=list)

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or a CIDR network "
                                 "(e.g. 10.0.0.0/8)") from None
        return value

    @model_validator(mode="after")
    def _default_public_url(self) -> Web:
        if not self.public_url:
            self.public_url = f"http://{self.host}:{self.port}"
        return self


class Smtp(Strict):
    """Outgoing mail; the password comes from SOCMON_SMTP__PASSWORD."""

    host: str = "localhost"
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str = "socmon@localhost"
    timeout: Duration = timedelta(seconds=30)


class Notifications(Strict):
    """Who hears about critical alerts at once, and how."""

    enabled: bool = True
    #: role -> e-mail addresses
    email: dict[Role, list[str]] = Field(default_factory=dict)
    #: apprise URLs for chat (Slack, Teams, Matrix ...); keep tokens in the environment
    apprise_urls: list[SecretStr] = Field(default_factory=list)
    #: at most one message per queue and label in this window (a spam wave sends one)
    dedupe_window: Duration = timedelta(minutes=15)


class Digest(Strict):
    """The weekly management digest."""

    enabled: bool = True
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "08:00"
    timezone: str = "Europe/London"
    recipients: list[str] = Field(default_factory=list)
    #: quote up to three redacted examples of abusive comments (never safeguarding ones)
    quote_abusive_text: bool = False
    #: name repeatedly flagged accounts (never by their safeguarding flags); off: may be children
    show_account_names: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected e.g. Europe/London)") from None
        return value


class Removals(Strict):
    """Removal requests: how long a takedown may take, and when to remind people of it."""

    #: the time from a request to the item being gone (the policy's "within 24 hours")
    deadline: Duration = timedelta(hours=24)
    #: the share of that time gone when a reminder goes out (0.5: half-way)
    remind_at: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.5

    @field_validator("deadline")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration, e.g. 24h")
        return value


class Retention(Strict):
    """How long each kind of record is kept before the daily purge removes or redacts it.

    Periods take a duration ("30d", "56w"; months are not a unit: 13 months is "396d").
    Safeguarding records are never purged without the DSL's sign-off: at their period's end
    they are marked due for review instead.
    """

    enabled: bool = True
    #: when the daily purge runs, UTC
    time: Annotated[str, Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")] = "02:30"
    #: comments nothing was flagged in (they were only read to be checked), from when read
    clean: Duration = timedelta(days=30)
    #: flagged comments and their evidence, from the alert (open alerts wait until closed)
    flagged: Duration = timedelta(days=396)
    #: safeguarding records: then due for the DSL's review, purged only once signed off
    safeguarding: Duration = timedelta(days=7 * 365 + 2)
    #: moderators' notes on alerts (and dismissal notes), from when written
    notes: Duration = timedelta(days=396)
    #: the details of audit events (who, what, when and the hashes are kept for ever)
    audit_details: Duration = timedelta(days=7 * 365 + 2)

    @field_validator("clean", "flagged", "safeguarding", "notes", "audit_details")
    @classmethod
    def _at_least_a_day(cls, value: timedelta) -> timedelta:
        # A shorter period would purge comments before a moderator could have read them.
        if value < timedelta(days=1):
            raise ValueError("expected a period of at least 1 day, e.g. 30d")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Retention:
        if self.flagged < self.clean:
            raise ValueError("flagged must be at least as long as clean (flagged comments "
                             "are kept longer than comments that were only checked)")
        if self.safeguarding < self.flagged:
            raise ValueError("safeguarding must be at least as long as flagged")
        return self


class Review(Strict):
    """The governors' annual review pack: the leads the DfE standards ask to be named."""

    #: the member of the senior leadership team responsible for filtering and monitoring
    senior_lead: Annotated[str, Field(max_length=128)] = ""
    #: the governor (or trustee) responsible for filtering and monitoring
    governor_lead: Annotated[str, Field(max_length=128)] = ""
    #: the organisation's name on the cover
    organisation: Annotated[str, Field(max_length=200)] = ""


def default_data_dir() -> Path:
    """Where the embedded default keeps its SQLite file and demo state."""
    return Path.home() / ".local" / "share" / "socmon"


class SeriesRule(Strict):
    """Thresholds of one rule over a series of comments (all within `window` of now)."""

    enabled: bool = True
    window: Duration
    #: comments in the series, at least
    min_comments: Annotated[int, Field(ge=2, le=10_000)]
    #: distinct children addressed (contact seeking) or distinct accounts (targeting, spam wave)
    min_distinct: Annotated[int, Field(ge=1, le=10_000)]
    #: distinct platforms the series spans, at least
    min_platforms: Annotated[int, Field(ge=1, le=10)] = 1

    @field_validator("window")
    @classmethod
    def _window_bounds(cls, value: timedelta) -> timedelta:
        # shorter than a minute sees no series; longer than 90 days outlives the evidence
        if not timedelta(minutes=1) <= value <= timedelta(days=90):
            raise ValueError("must be between 1m and 90d")
        return value


class Series(Strict):
    """Signals across comments: rules over an author's and a target's recent comments."""

    enabled: bool = True
    #: how often the series job looks at newly stored comments
    interval: Duration = timedelta(minutes=1)
    #: accounts with the same handle on different platforms are one author (see docs/lab.md)
    match_handles: bool = True
    #: one author asking several children for ages or private contact
    contact_seeking: SeriesRule = SeriesRule(
        window=timedelta(days=7), min_comments=3, min_distinct=3)
    #: one person (a reply's author or a mention) targeted with hostile comments by several
    #: accounts
    targeting: SeriesRule = SeriesRule(window=timedelta(days=2), min_comments=3, min_distinct=3)
    #: many accounts posting links to the same site
    spam_wave: SeriesRule = SeriesRule(window=timedelta(hours=1), min_comments=8, min_distinct=4)


class Settings(BaseSettings):
    """Everything socmon reads at start. YAML first, then SOCMON_* environment variables win."""

    model_config = SettingsConfigDict(
        env_prefix="SOCMON_", env_nested_delimiter="__", extra="forbid"
    )
    yaml_path: ClassVar[Path | None] = None

    data_dir: Path = Field(default_factory=default_data_dir)
    #: SQLAlchemy URL; empty means a SQLite file in data_dir. PostgreSQL: postgresql+psycopg://...
    database_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: also log every web request (the access log) and other libraries' lines below WARNING
    #: (the web server, the scheduler, the PDF fonts); off: socmon's own lines only
    log_verbose: bool = False
    #: how long a replica's claim on a channel's poll lasts unrenewed (a running pass renews it
    #: three times a lease): a crashed replica's channels are polled again after at most this
    poll_lease: Duration = timedelta(seconds=45)
    #: signs web sessions; set SOCMON_SECRET_KEY in production (a random one is made otherwise)
    secret_key: SecretStr | None = None
    channels: list[ChannelConfig] = Field(default_factory=list)
    routing: Routing = Field(default_factory=Routing)
    classifier: ClassifierConfig = Field(default_factory=ClassifierConfig)
    takedown: Takedown = Field(default_factory=Takedown)
    web: Web = Field(default_factory=Web)
    smtp: Smtp = Field(default_factory=Smtp)
    notifications: Notifications = Field(default_factory=Notifications)
    digest: Digest = Field(default_factory=Digest)
    retention: Retention = Field(default_factory=Retention)
    review: Review = Field(default_factory=Review)
    series: Series = Field(default_factory=Series)

    @field_validator("data_dir")
    @classmethod
    def _expand_home(cls, value: Path) -> Path:
        return value.expanduser()

    @field_validator("poll_lease")
    @classmethod
    def _lease_bounds(cls, value: timedelta) -> timedelta:
        # Under 5 s a busy database or a garbage-collection pause could outlast a heartbeat
        # and let two replicas poll at once; over an hour a crash silences channels too long.
        if not timedelta(seconds=5) <= value <= timedelta(hours=1):
            raise ValueError("must be between 5s and 1h")
        return value

    @field_validator("channels")
    @classmethod
    def _unique_channel_names(cls, value: list[ChannelConfig]) -> list[ChannelConfig]:
        seen: set[str] = set()
        for channel in value:
            if channel.name in seen:
                raise ValueError(f"channel name {channel.name!r} is used twice")
            seen.add(channel.name)
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init arguments, then the environment, then the YAML file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if cls.yaml_path is not None:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=cls.yaml_path))
        return tuple(sources)

    def sqlalchemy_url(self) -> str:
        """The database URL in force (the embedded SQLite file by default)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'socmon.sqlite3'}"

    #: removal requests (a parent, a member of staff or a pupil asks for a takedown)
    removals: Removals = Field(default_factory=Removals)
