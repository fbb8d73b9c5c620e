"""``python -m topmatch``: the same as the ``topmatch`` command."""

from topmatch.cli import run

run()
