"""Notification routes and channels in the manifest (filled in by the notifications work)."""

from pydantic import BaseModel, ConfigDict


class NotificationConfig(BaseModel):
    """Where alert transitions are delivered. Placeholder until routes are implemented."""

    model_config = ConfigDict(extra="forbid", frozen=True)
