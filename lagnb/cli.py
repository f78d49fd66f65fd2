"""The ``lagnb`` command line.  Each subcommand is a thin wrapper over a package function."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .errors import LagnbError


def _add_lagrangian(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lagrangian", help="write the renormalizable Lagrangian of a field list")
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_const", dest="format", const="json")
    fmt.add_argument("--latex", action="store_const", dest="format", const="latex")
    fmt.add_argument("--tokens", action="store_const", dest="format", const="tokens")
    p.add_argument("--no-hc", action="store_true", help="tokens: do not write out h.c. terms")
    p.add_argument("fields", help='BART-L input, e.g. "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"')
    p.set_defaults(run=_run_lagrangian, format="text")


def _run_lagrangian(args: argparse.Namespace) -> int:
    from .engine import lagrangian

    lag = lagrangian(args.fields)
    if args.format == "json":
        print(lag.json())
    elif args.format == "latex":
        print(lag.latex())
    elif args.format == "tokens":
        print(lag.tokens(hc=not args.no_hc))
    else:
        print(lag.summary())
    return 0


# Subcommands register here, one function each (keep this list in the order of the README).
SUBCOMMANDS = [_add_lagrangian]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lagnb", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except LagnbError as exc:
        print(f"lagnb {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
