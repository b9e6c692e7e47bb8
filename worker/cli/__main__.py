"""``python -m worker.cli``: the same as the ``autoclock`` command."""

from worker.cli import main

main()
