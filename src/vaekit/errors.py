"""The one exception type that vaekit raises for bad input (and Ctrl-C with a next step).

The CLI turns it into a one-line message and a non-zero exit; anything else is a bug and
is reported as such.
"""


class VaekitError(Exception):
    """Bad input: a missing or corrupt file, an unknown name, data of the wrong shape."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with what to do next as its message ("interrupted ...; continue with: ...")."""
