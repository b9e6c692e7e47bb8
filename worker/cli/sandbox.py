"""``autoclock sandbox``: serve the local WebWork API V2 emulator in the foreground."""

from __future__ import annotations

from pathlib import Path

import click
import uvicorn

from worker.errors import ConfigError
from worker.logs import configure_logging

__all__ = ["COMMANDS", "sandbox"]


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0: any."
)
@click.option(
    "--seed",
    "seed_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Seed YAML (workspaces, members, tokens, contracts, ...). Default: the sample.",
)
@click.option(
    "--rpm",
    default=60,
    show_default=True,
    type=click.IntRange(0, 1_000_000),
    help="Requests per minute per token (sliding 60 s window); 0 turns the limit off.",
)
@click.option(
    "--reject-status",
    type=click.Choice(["400", "409", "422"]),
    default="400",
    show_default=True,
    help="Status of the already-tracking / not-tracking rejections.",
)
@click.option(
    "--conflicts",
    type=click.Choice(["documented", "409", "422", "opaque"]),
    default="documented",
    show_default=True,
    help="How refusals are answered (already/not tracking, member left, paused contract): "
    "the documented envelope, 409 with other wording, a Laravel 422 {message, errors}, or an "
    "opaque 400.",
)
@click.option(
    "--edge-cases",
    is_flag=True,
    help="Add a member who has left (lee.left@example.com) and one whose tracker runs in the "
    "desktop app, invisible to current-data (dee.desk@example.com).",
)
@click.option("--already-tracking-message", default=None, help="Message of a start while tracking.")
@click.option("--not-tracking-message", default=None, help="Message of a stop with none running.")
@click.option(
    "--latency-ms", default=0.0, type=click.FloatRange(0, 600_000), help="Added to every request."
)
@click.option(
    "--error-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of requests answered 500."
)
@click.option(
    "--hang-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of requests that hang."
)
@click.option(
    "--hang-s", default=30.0, type=click.FloatRange(0, 3600), help="How long a hang lasts (s)."
)
@click.option(
    "--drop-rate",
    default=0.0,
    type=click.FloatRange(0, 1),
    help="Share of start/stop calls that take effect, then lose their answer (connection closed).",
)
@click.option("--rng-seed", default=0, type=int, help="Seed of the fault RNG (reproducible runs).")
def sandbox(
    host: str,
    port: int,
    seed_path: Path | None,
    rpm: int,
    reject_status: str,
    conflicts: str,
    edge_cases: bool,
    already_tracking_message: str | None,
    not_tracking_message: str | None,
    latency_ms: float,
    error_rate: float,
    hang_rate: float,
    hang_s: float,
    drop_rate: float,
    rng_seed: int,
) -> None:
    """Run a local emulator of the WebWork API V2 (for tests, the demo and benchmarks).

    Serves /api/v2/... from a seed file and a control API under /_sandbox/ (state, calls,
    faults, config, reset). Faults and config can be changed while it runs, e.g.
    curl -X POST URL/_sandbox/faults -d '{"outage_s": 30}'.
    """
    from worker.cli import EXIT_CONFIG
    from worker.sandbox.app import create_app
    from worker.sandbox.models import Faults, SandboxConfig
    from worker.sandbox.seed import SAMPLE_SEED_PATH, Seed
    from worker.sandbox.server import bind, uvicorn_config

    configure_logging("auto", "info")
    try:
        seed = Seed.from_file(seed_path) if seed_path else Seed.sample()
        if edge_cases:
            seed = seed.with_edge_cases()
    except ConfigError as exc:
        click.echo(f"autoclock sandbox: {exc}", err=True)
        raise SystemExit(EXIT_CONFIG) from None
    config = SandboxConfig.model_validate(
        {"rpm": rpm, "reject_status": int(reject_status), "conflicts": conflicts}
    )
    if already_tracking_message:
        config.already_tracking_message = already_tracking_message
    if not_tracking_message:
        config.not_tracking_message = not_tracking_message
    faults = Faults(
        latency_ms=latency_ms,
        error_rate=error_rate,
        hang_rate=hang_rate,
        hang_s=hang_s,
        drop_rate=drop_rate,
        rng_seed=rng_seed,
    )
    app = create_app(seed, config, faults)
    try:
        sock = bind(host, port)
    except OSError as exc:
        click.echo(f"autoclock sandbox: cannot listen on {host}:{port}: {exc}", err=True)
        raise SystemExit(4) from None
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}"
    click.echo(f"WebWork sandbox on {url}/api/v2  (control: {url}/_sandbox/state)")
    click.echo(f"seed: {seed_path or SAMPLE_SEED_PATH}")
    for token in seed.tokens:
        roles = sorted({m.role for m in seed.members if m.id == token.user_id})
        click.echo(f"  token {token.token}  user {token.user_id} ({', '.join(roles)})")
    for tracker in seed.trackers:
        click.echo(f"  tracker of user {tracker.user_id} running ({tracker.source})")
    refusals = reject_status if conflicts == "documented" else f"{conflicts} style"
    click.echo(
        f"rate limit: {rpm or 'off'} rpm; conflicts answer {refusals}; "
        f"faults: latency {latency_ms:g} ms, errors {error_rate:g}, hangs {hang_rate:g}, "
        f"dropped answers {drop_rate:g}"
    )
    uvicorn.Server(uvicorn_config(app, host, bound)).run(sockets=[sock])


COMMANDS: list[click.Command] = [sandbox]
