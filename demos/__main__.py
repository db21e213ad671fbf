"""`python -m demos [NAME] [OPTIONS]`: list the demos, then run NAME (moons by default)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from demos import DEFAULT, DEMOS


def list_demos() -> None:
    """Print every demo with its one-line description and how to run it."""
    print("chainrule demos (python -m demos NAME [--smoke] [--out DIR] [--seed N]):")
    for name, what in DEMOS.items():
        marker = "*" if name == DEFAULT else " "
        print(f" {marker} {name:<8} {what}")
    print("   (* the default; `python -m demos NAME --help` for a demo's options)\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the demo named by the first argument, passing it the remaining arguments."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in ("-h", "--help", "--list"):
        list_demos()
        return
    if args and not args[0].startswith("-"):
        name, rest = args[0], args[1:]
        if name not in DEMOS:
            list_demos()
            raise SystemExit(f"demos: no demo named {name!r}; pick one of {', '.join(DEMOS)}")
    else:
        # No name: show what there is, then run the default with any options given.
        list_demos()
        name, rest = DEFAULT, args
    importlib.import_module(f"demos.{name}").main(rest)


if __name__ == "__main__":
    main()
