"""Huey tasks of the email channel (autodiscovered); thin: load by id, call a service."""

from comptoir.channels.email.tasks_inbound import *  # noqa: F403
from comptoir.channels.email.tasks_outbound import *  # noqa: F403
