"""The numeric options of the `toonemo` commands: finite, in range, checked before any work.

Two ways to use one rule, both ending in exit status 2 with the option named on stderr:

* as an argparse ``type=`` (checked while parsing; argparse prints the usage and
  ``toonemo CMD: error: argument --OPTION: must be ...`` and exits with 2)::

      parser.add_argument("--timeout", type=positive_float, default=30.0)
      parser.add_argument("--p", type=number(float, minimum=0, maximum=1))

* as a check inside a command that reports its own usage errors (and returns 2)::

      error = range_error("--tick-kimg", args.tick_kimg, above=0)

``float`` options are parsed with :func:`finite_float`, so ``nan``, ``inf`` and ``-inf`` never
reach a command.  Nothing heavy is imported here: every command module imports this one when the
`toonemo` command starts.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from pathlib import Path
from typing import Callable, Optional


def _parse(text: str, kind: type):
    try:
        value = kind(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"not a {'whole number' if kind is int else 'number'}: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _limits(minimum=None, maximum=None, above=None) -> str:
    if minimum is not None and maximum is not None:
        return f"between {minimum:g} and {maximum:g}"
    parts = []
    if above is not None:
        parts.append(f"greater than {above:g}")
    if minimum is not None:
        parts.append(f"{minimum:g} or more" if minimum else "0 or more")
    if maximum is not None:
        parts.append(f"at most {maximum:g}")
    return " and ".join(parts)


def out_of_range(value, *, minimum=None, maximum=None, above=None) -> Optional[str]:
    """Why `value` is not finite or not within the limits ("must be ..."), or None when it is."""
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if ((minimum is not None and value < minimum) or (maximum is not None and value > maximum)
            or (above is not None and value <= above)):
        return f"must be {_limits(minimum, maximum, above)}"
    return None


def range_error(option: str, value, *, minimum=None, maximum=None, above=None) -> Optional[str]:
    """``"--option must be ..., got VALUE"`` when `value` (not None) breaks the limits, else None."""
    if value is None:
        return None
    why = out_of_range(value, minimum=minimum, maximum=maximum, above=above)
    if why is None:
        return None
    return f"{option} {why}, got {value:g}" if isinstance(value, float) else f"{option} {why}, got {value}"


def number(kind: type = float, *, minimum=None, maximum=None, above=None) -> Callable[[str], object]:
    """An argparse ``type=``: a finite `kind` (int or float) within the limits, else a usage error."""
    def parse(text: str):
        value = _parse(text, kind)
        why = out_of_range(value, minimum=minimum, maximum=maximum, above=above)
        if why:
            raise argparse.ArgumentTypeError(f"{why}, got {text}")
        return value

    limits = _limits(minimum, maximum, above)
    parse.__name__ = f"{kind.__name__}{' ' + limits if limits else ''}"
    return parse


finite_float = number(float)
positive_float = number(float, above=0)
non_negative_float = number(float, minimum=0)
positive_int = number(int, minimum=1)
non_negative_int = number(int, minimum=0)


def colour(text: str) -> str:
    """An argparse ``type=``: a colour name or ``#rrggbb`` as `images.parse_color` reads it, else a usage error."""
    from ..images import parse_color  # Pillow, only when a command with a colour option parses it

    try:
        parse_color(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a colour: {text!r} (a name such as white, or #rrggbb)") from None
    return text


def add_model_options(parser, profile_help: str) -> None:
    """--profile, --base and --toon: every command that toonifies chooses its models the same way."""
    from ..config import PROFILES

    parser.add_argument("--profile", default="cpu", choices=tuple(PROFILES), help=f"{profile_help} (default: cpu)")
    parser.add_argument("--base", type=Path, help="the face model (an official StyleGAN2 pickle, e.g. FFHQ)")
    parser.add_argument("--toon", type=Path, help="the toon model blended from it (an official pickle)")


def model_options_error(args) -> Optional[str]:
    """Why --base and --toon cannot be used as given, or None."""
    if (args.base is None) != (args.toon is None):
        return "--base and --toon go together: the face model and the toon model blended from it"
    return None


def output_error(name: str, path, *, folder: bool) -> Optional[str]:
    """Why `path` cannot be written as a folder (or as a file), with the argument's `name`; None if it can.

    Checked before any work, so a command does not fail at its very end for want of a place to write.
    """
    path = Path(path)
    kind, other = ("a folder", "a file") if folder else ("a file", "a folder")
    if path.exists() and path.is_dir() != folder:
        return f"{name} {path} is {other}, not {kind}"
    nearest = next(p for p in (path, *path.parents) if p.exists())  # "." or "/" at the latest
    if nearest != path and not nearest.is_dir():
        return f"{name} {path} cannot be made: {nearest} is a file"
    writable = nearest if nearest.is_dir() else nearest.parent
    if not os.access(writable, os.W_OK | os.X_OK):
        return f"{name} {path} cannot be written: {writable} is read-only"
    return None


# ----------------------------------------------------------------------------
# One convention for every command's exit status.

FAILED, USAGE, INTERRUPTED = 1, 2, 130  # 130: the shell's status for Ctrl-C (128 + SIGINT)


class UsageError(ValueError):
    """The arguments contradict each other or name a path that cannot be used: exit status 2."""


def check_usage(*errors: Optional[str]) -> None:
    """Raise one UsageError carrying every error that is not None."""
    errors = [error for error in errors if error]
    if errors:
        raise UsageError(*errors)


def run_command(name: str, func: Callable[..., int], *args) -> int:
    """Run a command and turn how it ended into its exit status, with one line per error on stderr.

    The status: the command's own when it returns, 2 for a UsageError, 1 when the work
    failed (OSError, ValueError, RuntimeError, ImportError: a missing or corrupt input, a
    model that cannot load, a runtime that is not installed), 130 after Ctrl-C.  Clean-up
    runs before, in the commands' own ``finally`` and staging code.  Warnings print as one
    line too: ``toonemo NAME: warning: ...``.
    """
    def one_line(message, *_):  # a warning is one line that names the command, like an error
        from tqdm import tqdm  # on a line of its own, not inside a progress bar

        tqdm.write(f"toonemo {name}: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line
            return func(*args)
    except UsageError as err:
        status, lines = USAGE, err.args
    except (OSError, ValueError, RuntimeError, ImportError) as err:
        status, lines = FAILED, [str(err)]
    except KeyboardInterrupt:
        status, lines = INTERRUPTED, ["interrupted"]
    for line in lines:
        print(f"toonemo {name}: error: {line}" if status != INTERRUPTED else f"toonemo {name}: {line}",
              file=sys.stderr)
    return status
