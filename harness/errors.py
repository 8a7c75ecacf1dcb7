"""The one user-facing error type.

A HarnessError is a user's or an environment's mistake (bad manifest, missing toolchain, unreadable
results file). `cli.main` prints its message as one line and exits non-zero; anything else is a bug
and keeps its traceback.
"""


class HarnessError(Exception):
    """A problem the user can fix; the message names the file, field or command involved."""
