"""The ``uue`` command line. Thin: parse options, call the library, print results.

One module per group of commands (``data``, ``users``, ``model``, ``models``, ``search``, ``serve``); each attaches its
commands to the ``main`` group of ``cli.app``. Domain errors (``storage.errors.UUEError``
and subclasses) become a one-line message on stderr and exit code 1 — never a traceback
for a user mistake.
"""

from cli import data, export, importers, model, models, search, serve, users  # noqa: F401  (register the commands)
from cli.app import main
from cli.common import print_json

__all__ = ["main", "print_json"]
