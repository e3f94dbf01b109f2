"""Progress bars on stderr for jobs that take more than a few seconds, and one-line
announcements of slow one-time work (always printed). Bars are off when stderr is not a
terminal (VAEKIT_PROGRESS=1 forces them on, 0 off), with `--no-progress`, and in all but the
first process of a distributed run. `duration` writes a time for people.
"""

from __future__ import annotations

import os
import sys

from tqdm import tqdm

from . import distributed

MININTERVAL = 0.1       # seconds between redraws: drawing costs time in tight loops
_enabled = True


def set_enabled(flag: bool) -> None:
    """Switch every bar on (the default: where stderr is a terminal) or off."""
    global _enabled
    _enabled = bool(flag)


def enabled() -> bool:
    """Whether a bar made now would be drawn."""
    forced = os.environ.get("VAEKIT_PROGRESS")
    if not _enabled or forced == "0" or not distributed.is_main():
        return False
    return forced == "1" or sys.stderr.isatty()


def bar(iterable=None, *, total: int | None = None, desc: str = "", unit: str = "it") -> tqdm:
    """A tqdm bar on stderr, erased when done (silent when bars are off)."""
    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True,
                file=sys.stderr, mininterval=MININTERVAL, disable=not enabled())


def announce(message: str) -> None:
    """One line on stderr, always: for slow work the user should know about before it starts."""
    print(" ".join(message.split()), file=sys.stderr, flush=True)


def duration(seconds: float) -> str:
    """A time for people: "41.2 ms", "7.11 s", "54.5 s" (3 significant figures), "2:05" (m:ss),
    "1:02:05" (h:mm:ss)."""
    if not seconds >= 0:                      # negative or NaN: as it is
        return f"{seconds} s"
    ms = f"{seconds * 1000:.3g}"
    if seconds < 1 and "e" not in ms:         # 0.9996 s would be "1e+03": on to seconds
        return f"{ms} ms"
    if seconds < 59.95:
        return f"{seconds:.3g} s"
    minutes, s = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{s:02d}" if hours else f"{minutes}:{s:02d}"
