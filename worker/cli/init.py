"""``autoclock init [DIR]``: a starter site — the example ``rules/`` and a ``.env`` to fill in."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from worker.examples import dotenv_template, rules_dir

__all__ = ["COMMANDS"]


@click.command("init")
@click.argument(
    "directory",
    required=False,
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
)
def init_command(directory: Path) -> None:
    """Write a starter rules/ and .env into DIRECTORY (default: here).

    The rules are the demo's examples (people, door sources, shift and badge rules, a
    calendar): edit them for your site, then `autoclock rules check`. The .env names every
    setting a site needs, with every secret empty. Nothing is overwritten: an existing
    rules/ or .env stops the command (exit 1).
    """
    from worker.cli import EXIT_PROBLEMS

    target_rules = directory / "rules"
    target_env = directory / ".env"
    existing = [str(p) for p in (target_rules, target_env) if p.exists() or p.is_symlink()]
    if existing:
        click.echo(
            f"autoclock init: {', '.join(existing)} already exist(s); nothing written", err=True
        )
        raise SystemExit(EXIT_PROBLEMS)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copytree(rules_dir(), target_rules)
        target_env.write_text(dotenv_template(), encoding="utf-8")
        target_env.chmod(0o600)
    except OSError as exc:
        click.echo(
            f"autoclock init: cannot write into {directory}: {exc.strerror or exc}", err=True
        )
        raise SystemExit(EXIT_PROBLEMS) from None
    click.echo(f"wrote {target_rules}/ (the example rules) and {target_env} (settings to fill in)")
    click.echo("next: edit rules/people.yaml and .env, then `autoclock rules check`")


COMMANDS = [init_command]
