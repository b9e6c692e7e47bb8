"""The WebWork API V2 client (:class:`WebWorkClient`), its classifier and response models."""

from worker.webwork.classify import Classifier
from worker.webwork.client import WebWorkClient
from worker.webwork.models import (
    CallResult,
    Contract,
    CurrentTracker,
    Leave,
    Member,
    Task,
    TimeEntry,
    Workspace,
)

__all__ = [
    "CallResult",
    "Classifier",
    "Contract",
    "CurrentTracker",
    "Leave",
    "Member",
    "Task",
    "TimeEntry",
    "WebWorkClient",
    "Workspace",
]
