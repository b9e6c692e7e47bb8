"""A local emulator of the WebWork API V2 ("sandbox"): seed, app, server and control client."""

from worker.sandbox.app import create_app, sandbox_state
from worker.sandbox.control import SandboxControl
from worker.sandbox.models import CallRecord, Faults, SandboxConfig, TrackerView
from worker.sandbox.seed import Seed
from worker.sandbox.server import RunningSandbox, RunningServer, serve_in_thread, start_sandbox

__all__ = [
    "CallRecord",
    "Faults",
    "RunningSandbox",
    "RunningServer",
    "SandboxConfig",
    "SandboxControl",
    "Seed",
    "TrackerView",
    "create_app",
    "sandbox_state",
    "serve_in_thread",
    "start_sandbox",
]
