"""The wire protocols: one delivery of one rendered message to one receiver.

- Alertmanager API v2: `POST <url>/api/v2/alerts` with a list of alerts.
- PagerDuty Events API v2: `POST https://events.pagerduty.com/v2/enqueue`
  with the routing key added here; `dedup_key` makes a repeat a no-op.
- Slack incoming webhook: `POST <webhook url>`.
- Generic webhook: `POST <url>` with `X-Burnwatch-Timestamp` and
  `X-Burnwatch-Signature: sha256=<hex HMAC-SHA256(key, "<timestamp>." + body)>`,
  plus `Idempotency-Key` so the receiver can drop a repeat.
- Email: SMTP (optional STARTTLS and login), with a stable `Message-ID`.
- Command: runs the manifest's executable (no shell) with the webhook's JSON
  document on stdin; exit 0 is delivered, another exit status or the timeout
  (the process group is killed) is a failure retried now. Its stdout and
  stderr (the first `OUTPUT_READ_BYTES` of each) come back for the attempt
  record, which redacts and truncates them (dispatch.py).

Secrets are read from the environment here, at send time, and never put in an
error message: a failure is described by what we saw (HTTP status, exception
type), not by the exception's text, which may quote the URL.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import signal
import smtplib
import subprocess
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import httpx

from schemas.routing import (
    AlertmanagerChannel,
    Channel,
    CommandChannel,
    EmailChannel,
    PagerDutyChannel,
    SlackChannel,
    WebhookChannel,
)

USER_AGENT = "burnwatch-notify/1"
SIGNATURE_HEADER = "X-Burnwatch-Signature"
TIMESTAMP_HEADER = "X-Burnwatch-Timestamp"


@dataclass(frozen=True)
class CommandOutput:
    """What a command printed (the first OUTPUT_READ_BYTES of each stream), unredacted."""

    stdout: str
    stderr: str


class DeliveryError(Exception):
    """A failed delivery, described without secrets.

    `retry_now`: worth retrying within this run (5xx, 429, network error);
    `final`: the receiver rejected the message for good (other 4xx), never retried.
    Neither: retried on the next run (e.g. a missing environment variable).
    """

    def __init__(
        self,
        safe: str,
        *,
        retry_now: bool = False,
        final: bool = False,
        status_code: int | None = None,
        output: CommandOutput | None = None,
    ) -> None:
        super().__init__(safe)
        self.safe = safe
        self.retry_now = retry_now
        self.final = final
        self.status_code = status_code
        # A command's stdout and stderr, not yet redacted: dispatch redacts before recording.
        self.output = output


@dataclass(frozen=True)
class Delivered:
    status_code: int
    output: CommandOutput | None = None


# How much of a command's stdout and of its stderr is read back. More than the
# record keeps (dispatch.OUTPUT_LIMIT_CHARS), so that a secret cut at this edge
# is cut away by the truncation after redaction and never recorded in part.
OUTPUT_READ_BYTES = 64 * 1024


def secret_env_names(channel: Channel) -> list[str]:
    """The environment variables that hold this channel's secrets."""
    names = [
        getattr(channel, attribute, None)
        for attribute in ("url_env", "routing_key_env", "hmac_key_env", "password_env")
    ]
    names += getattr(channel, "secret_envs", [])
    return [name for name in names if name]


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise DeliveryError(f"environment variable {name} is not set")
    return value


def _post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str] | None = None
) -> Delivered:
    all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **(headers or {})}
    try:
        response = client.post(url, content=body, headers=all_headers)
    except httpx.TimeoutException as error:
        raise DeliveryError(f"timeout ({type(error).__name__})", retry_now=True) from None
    except httpx.TransportError as error:
        raise DeliveryError(f"connection failed ({type(error).__name__})", retry_now=True) from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
        raise DeliveryError(f"bad request ({type(error).__name__})", final=True) from None
    code = response.status_code
    if 200 <= code < 300:
        return Delivered(code)
    reason = f"HTTP {code} {response.reason_phrase}".strip()
    if code == 429 or code >= 500 or code == 408:
        raise DeliveryError(reason, retry_now=True, status_code=code)
    raise DeliveryError(reason, final=True, status_code=code)


def _json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(key: str, timestamp: str, body: bytes) -> str:
    """The webhook signature: `sha256=` + hex HMAC-SHA256 over `<timestamp>.<body>`."""
    digest = hmac.new(
        key.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"sha256={digest}"


def _send_email(channel: EmailChannel, payload: dict[str, Any], timeout: float) -> Delivered:
    message = EmailMessage()
    message["Subject"] = payload["subject"]
    message["From"] = payload["from"]
    message["To"] = ", ".join(payload["to"])
    message["Message-ID"] = payload["message_id"]
    if payload.get("in_reply_to"):
        # The alert's escalation and resolution answer its opening: one email thread.
        message["In-Reply-To"] = payload["in_reply_to"]
        message["References"] = payload["in_reply_to"]
    message["Date"] = formatdate(usegmt=True)
    message["X-Burnwatch-Idempotency-Key"] = payload["message_id"].strip("<>").split("@")[0]
    message.set_content(payload["text"])
    password = _env(channel.password_env) if channel.password_env else None
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=timeout) as smtp:
            if channel.starttls:
                smtp.starttls()
            if channel.username and password:
                smtp.login(channel.username, password)
            smtp.send_message(message)
    except smtplib.SMTPResponseException as error:
        code = int(error.smtp_code)
        reason = f"SMTP {code}"
        if 400 <= code < 500:
            raise DeliveryError(reason, retry_now=True, status_code=code) from None
        raise DeliveryError(reason, final=True, status_code=code) from None
    except smtplib.SMTPRecipientsRefused:
        raise DeliveryError("SMTP recipients refused", final=True) from None
    except (smtplib.SMTPException, OSError) as error:
        raise DeliveryError(f"SMTP failed ({type(error).__name__})", retry_now=True) from None
    return Delivered(250)


def _read_back(stream: Any) -> str:
    stream.seek(0)
    return bytes(stream.read(OUTPUT_READ_BYTES)).decode("utf-8", errors="replace")


def _captured(stdout: Any, stderr: Any) -> CommandOutput:
    return CommandOutput(_read_back(stdout), _read_back(stderr))


def _run_command(channel: CommandChannel, body: bytes) -> Delivered:
    """Run the channel's command once with `body` on stdin; its exit status decides.

    The streams go to temporary files rather than pipes: a command that starts a
    child which keeps them open (a shell script's `sleep`) cannot then hold the
    dispatcher past its timeout. The command gets a session of its own, so the
    timeout kills the whole process group, children included.
    """
    with (
        tempfile.TemporaryFile() as stdin,
        tempfile.TemporaryFile() as stdout,
        tempfile.TemporaryFile() as stderr,
    ):
        stdin.write(body)
        stdin.seek(0)
        try:
            process = subprocess.Popen(
                channel.command,
                stdin=stdin,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        except OSError as error:
            # Missing or not executable: not worth retrying now, tried again next run.
            raise DeliveryError(
                f"cannot run {channel.command[0]} ({type(error).__name__})"
            ) from None
        try:
            code = process.wait(timeout=channel.timeout_seconds)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise DeliveryError(
                f"timed out after {channel.timeout_seconds:g} s (killed)",
                retry_now=True,
                output=_captured(stdout, stderr),
            ) from None
        output = _captured(stdout, stderr)
    if code == 0:
        return Delivered(0, output)
    if code < 0:
        try:
            reason = f"killed by {signal.Signals(-code).name}"
        except ValueError:
            reason = f"killed by signal {-code}"
    else:
        reason = f"exit status {code}"
    raise DeliveryError(reason, retry_now=True, status_code=code, output=output)


def deliver(
    channel: Channel,
    payload: dict[str, Any],
    message_id: str,
    client: httpx.Client,
    timeout: float,
) -> Delivered:
    """Send one message once; raise DeliveryError (without secrets) when it fails."""
    if isinstance(channel, AlertmanagerChannel):
        base = channel.url or _env(channel.url_env or "")
        return _post(client, base.rstrip("/") + "/api/v2/alerts", _json(payload["alerts"]))
    if isinstance(channel, PagerDutyChannel):
        event = {**payload, "routing_key": _env(channel.routing_key_env)}
        return _post(client, channel.url, _json(event))
    if isinstance(channel, SlackChannel):
        return _post(client, _env(channel.url_env), _json(payload))
    if isinstance(channel, WebhookChannel):
        url, key = _env(channel.url_env), _env(channel.hmac_key_env)
        body = _json(payload)
        timestamp = str(int(time.time()))
        return _post(
            client,
            url,
            body,
            {
                TIMESTAMP_HEADER: timestamp,
                SIGNATURE_HEADER: sign(key, timestamp, body),
                "Idempotency-Key": message_id,
            },
        )
    if isinstance(channel, CommandChannel):
        return _run_command(channel, _json(payload))
    return _send_email(channel, payload, timeout)
