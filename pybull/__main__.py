"""``python -m pybull``: the same CLI as the ``pybull`` command."""

from pybull.cli import app

app(prog_name="pybull")
