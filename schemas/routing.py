"""Notification channels and routes in the manifest (`notifications:` in slos.yaml).

A *channel* is one receiver (an Alertmanager, a PagerDuty service, a Slack
channel, a signed webhook, a mailbox, a local command). A *route* sends the alert transitions it
matches (by cohort, tenant, severity and transition) to one channel.

Secrets never live in the manifest: a channel names the environment variables
that hold its webhook URL, routing key, HMAC key or SMTP password
(`url_env: SLACK_WEBHOOK_URL`), and they are read only when a message is sent.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TransitionKind = Literal[
    "opened", "escalated", "resolved", "no_data", "data_resumed", "stepped_down"
]
TRANSITIONS: tuple[TransitionKind, ...] = (
    "opened",
    "escalated",
    "resolved",
    "no_data",
    "data_resumed",
    # A paging alert whose page rules stopped while ticket rules fire: the same alert, now a
    # ticket (one update, like an escalation the other way).
    "stepped_down",
)
# A tenant's logs stopped (no_data) and came back (data_resumed): silence is not health.
SILENCE_TRANSITIONS: tuple[TransitionKind, ...] = ("no_data", "data_resumed")

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_CHANNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Channel(_Strict):
    # Keys a user may be tempted to write a secret under -> the key that names its variable.
    inline_secrets: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, env_key in cls.inline_secrets.items():
                if key in data:
                    raise ValueError(
                        f"{key}: secrets are not written in the manifest; put the value in an "
                        f"environment variable and name it with {env_key}"
                    )
        return data


def report_url_problem(url: str) -> str | None:
    """What is wrong with `url` as the report page's address, or None: it must be an
    absolute http://, https:// or file:// URL without a #fragment (messages add one)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https", "file") or not (parts.netloc or parts.path):
        return "not an http://, https:// or file:// URL of the report page"
    if parts.fragment:
        return "no #fragment, please: each message adds its SLO's anchor"
    return None


def _env_name(value: str | None) -> str | None:
    if value is not None and not _ENV_NAME.match(value):
        raise ValueError(
            f"{value!r} is not an environment variable name (like SLACK_WEBHOOK_URL); "
            "secrets are read from the environment, never written in the manifest"
        )
    return value


class AlertmanagerChannel(_Channel):
    """Alertmanager API v2 (`POST <url>/api/v2/alerts`); the URL is not a secret."""

    type: Literal["alertmanager"]
    url: str | None = None
    url_env: str | None = None

    _env = field_validator("url_env")(_env_name)

    @model_validator(mode="after")
    def _one_url(self) -> AlertmanagerChannel:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("an alertmanager channel takes exactly one of url and url_env")
        return self


class PagerDutyChannel(_Channel):
    """PagerDuty Events API v2; the integration's routing key comes from the environment."""

    inline_secrets: ClassVar[dict[str, str]] = {"routing_key": "routing_key_env"}

    type: Literal["pagerduty"]
    routing_key_env: str
    url: str = "https://events.pagerduty.com/v2/enqueue"

    _env = field_validator("routing_key_env")(_env_name)


class SlackChannel(_Channel):
    """A Slack incoming webhook; its URL is the secret, so only its variable is named."""

    inline_secrets: ClassVar[dict[str, str]] = {"url": "url_env"}

    type: Literal["slack"]
    url_env: str

    _env = field_validator("url_env")(_env_name)


class WebhookChannel(_Channel):
    """Generic JSON webhook signed with HMAC-SHA256 (header `X-Burnwatch-Signature`)."""

    inline_secrets: ClassVar[dict[str, str]] = {"url": "url_env", "hmac_key": "hmac_key_env"}

    type: Literal["webhook"]
    url_env: str
    hmac_key_env: str

    _env = field_validator("url_env", "hmac_key_env")(_env_name)


class EmailChannel(_Channel):
    """Email over SMTP (optionally STARTTLS and login; the password from the environment)."""

    inline_secrets: ClassVar[dict[str, str]] = {"password": "password_env"}

    type: Literal["email"]
    host: str
    port: int = Field(default=25, ge=1, le=65535)
    starttls: bool = False
    username: str | None = None
    password_env: str | None = None
    sender: str
    to: list[str] = Field(min_length=1)

    _env = field_validator("password_env")(_env_name)


class CommandChannel(_Channel):
    """An executable run once per message (a rollback, `pagerduty-escalate`, a canary
    kill): the message's `burnwatch.alert.v1` JSON on stdin, its exit status the
    delivery's result (0 delivered; anything else, or the timeout, a failure retried
    like an HTTP 5xx). `command` is the argument list, run without a shell.

    `secret_envs` names the environment variables the command reads its secrets
    from (it inherits the environment): their values are redacted from the
    stdout and stderr kept in the attempt record."""

    type: Literal["command"]
    command: list[str] = Field(min_length=1)
    timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    secret_envs: list[str] = Field(default_factory=list)

    @field_validator("command")
    @classmethod
    def _executable_named(cls, command: list[str]) -> list[str]:
        executable = command[0]
        # A relative path would depend on the directory the scheduler runs in.
        if not executable.strip() or ("/" in executable and not executable.startswith("/")):
            raise ValueError(
                f"command[0] {executable!r}: give an absolute path or a program name on PATH"
            )
        return command

    @field_validator("secret_envs")
    @classmethod
    def _secret_env_names(cls, names: list[str]) -> list[str]:
        for name in names:
            _env_name(name)
        return names


Channel = Annotated[
    AlertmanagerChannel
    | PagerDutyChannel
    | SlackChannel
    | WebhookChannel
    | EmailChannel
    | CommandChannel,
    Field(discriminator="type"),
]


class RouteMatch(_Strict):
    """Which transitions a route takes; an empty list matches everything."""

    cohorts: list[str] = Field(default_factory=list)
    tenants: list[str] = Field(default_factory=list)
    severities: list[Literal["page", "ticket"]] = Field(default_factory=list)
    transitions: list[TransitionKind] = Field(default_factory=list)

    def matches(self, cohort: str, tenant: str, severity: str, transition: str) -> bool:
        """True when every non-empty criterion contains the transition's value."""
        return all(
            not allowed or value in allowed
            for allowed, value in (
                (self.cohorts, cohort),
                (self.tenants, tenant),
                (self.severities, severity),
                (self.transitions, transition),
            )
        )


class Route(_Strict):
    channel: str
    match: RouteMatch = Field(default_factory=RouteMatch)


class RetryPolicy(_Strict):
    """Exponential backoff for one delivery: `initial_seconds * 2**n`, capped."""

    attempts: int = Field(default=5, ge=1, le=50)
    initial_seconds: float = Field(default=1.0, ge=0)
    max_seconds: float = Field(default=60.0, ge=0)
    timeout_seconds: float = Field(default=10.0, gt=0)


class EventsConfig(_Strict):
    """How far before a transition a change event counts as its context."""

    lookback_minutes: int = Field(default=120, ge=0)


class NotificationConfig(_Strict):
    """Where alert transitions are delivered, and how."""

    channels: dict[str, Channel] = Field(default_factory=dict)
    routes: list[Route] = Field(default_factory=list)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    events: EventsConfig = Field(default_factory=EventsConfig)
    # `{tenant}`, `{slo}` and `{rule}` are filled in.
    runbook_url: str = "https://runbooks.example.com/slo/{slo}"
    # The report page's address (http(s):// or file://, no #fragment); each message links
    # to it at the SLO's anchor. None: $BURNWATCH_REPORT_URL, else the warehouse's report.
    report_url: str | None = None
    # Transitions older than this (at planning time) are recorded but never sent,
    # so a first run or a backfill over months does not page for history.
    max_age_hours: float | None = Field(default=None, gt=0)
    # The schedule's interval. Every run re-sends each alert still firing to
    # Alertmanager with endsAt = now + 4 cycles, as Prometheus re-sends every
    # evaluation, so an open alert outlives three missed cycles and no more.
    cycle_minutes: float = Field(default=5.0, gt=0)
    # The severity a no_data / data_resumed transition is routed and labelled
    # with: a silent tenant cannot be watched, and its silence may be the outage
    # itself (the log shipper often dies with the service), so a page by default.
    no_data_severity: Literal["page", "ticket"] = "page"

    @field_validator("report_url")
    @classmethod
    def _report_url(cls, url: str | None) -> str | None:
        problem = None if url is None else report_url_problem(url)
        if problem:
            raise ValueError(problem)
        return url

    @field_validator("channels")
    @classmethod
    def _channel_names(cls, channels: dict[str, Channel]) -> dict[str, Channel]:
        for name in channels:
            if not _CHANNEL_NAME.match(name):
                raise ValueError(f"channel name {name!r} must be letters, digits, '_', '.' or '-'")
        return channels

    @model_validator(mode="after")
    def _routes_resolve(self) -> NotificationConfig:
        for index, route in enumerate(self.routes):
            if route.channel not in self.channels:
                known = ", ".join(sorted(self.channels)) or "none defined"
                raise ValueError(
                    f"routes[{index}].channel: unknown channel {route.channel!r} (known: {known})"
                )
        return self

    def channels_for(self, cohort: str, tenant: str, severity: str, transition: str) -> list[str]:
        """Names of the channels whose routes match, once each, in route order."""
        names: list[str] = []
        for route in self.routes:
            if route.match.matches(cohort, tenant, severity, transition) and (
                route.channel not in names
            ):
                names.append(route.channel)
        return names
