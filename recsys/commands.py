"""What every command line of the project shares: a user's mistake ends it with one line and exit status 2.

A mistake is what the user can fix by changing the command: a setting that does not exist or cannot take its
value, a value or combination the project refuses (ValueError), a path that is not there, a bundle that cannot be
served (artifacts.BundleError, a ValueError). Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

MISTAKES = (ValueError, FileNotFoundError, NotADirectoryError)
#: The exit status of a command stopped by Ctrl-C, as shells report one (128 + SIGINT).
INTERRUPTED = 130


def run(prog: str, main: Callable[[list[str]], int], argv: list[str] | None = None) -> int:
    """``main(argv)``'s status, or 2 after one line on stderr when it stopped on a mistake."""
    try:
        return main(sys.argv[1:] if argv is None else argv)
    except MISTAKES as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C: what was half-done is cleaned up on the way here; no traceback
        print(f"{prog}: interrupted", file=sys.stderr)
        return INTERRUPTED
