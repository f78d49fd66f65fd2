"""The ``lagnb`` command line.  Each subcommand is a thin wrapper over a package function.

Bad input never ends in a traceback: :func:`main` prints one line
``lagnb <command>: error: <message>`` on stderr and returns 2 (1 from ``lagnb check`` when a
term is invalid, 130 after Ctrl-C, 141 when stdout is closed early, as in ``… | head -1``).
The engine's commands (``lagrangian``, ``check``) and every ``--help`` except ``train``'s run
without importing torch.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from lagnb.errors import LagnbError

DESCRIPTION = (
    "lagnb: Lagrangians from fields and symmetries. Write the renormalizable Lagrangian of a "
    "field list with the exact engine, check terms, sample datasets, train and run the BART "
    "model, and run the project's notebooks. Fields are given as a BART-L token string, e.g. "
    '"[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]". See "lagnb COMMAND --help" for each command.'
)

# exit codes of main(): bad input, Ctrl-C (128 + SIGINT), stdout closed (128 + SIGPIPE)
EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 2, 130, 141
RESUMABLE = {"train", "sample"}


class UsageError(LagnbError):
    """A command line argparse rejects (unknown option, missing or malformed argument)."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(f"{message} (see '{prog} --help')")
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block): raises :class:`UsageError`."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, message)


def _int_at_least(low: int):
    """An argparse type: an integer ≥ ``low`` (a count, a beam width, a token budget)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


_count = _int_at_least(1)
_count0 = _int_at_least(0)


def _float_at_least(low: float, strict: bool = False):
    """An argparse type: a finite number ≥ ``low`` (> ``low`` with ``strict``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(
                f"must be {'>' if strict else '>='} {low:g}, got {text}"
            )
        return value

    return parse


def _fraction(text: str) -> float:
    """An argparse type: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:  # also rejects nan
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value


def _parse_fields(text: str):
    """The field list of a command line (a BART-L input string), checked before slow work."""
    from lagnb.physics.fields import parse_fields

    return parse_fields(text)


def _add_lagrangian(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "lagrangian",
        help="write the renormalizable Lagrangian of a field list",
        description="Write the renormalizable Lagrangian of the field list FIELDS: by default a "
        "table in Unicode (fields, then each term with its kind and coupling); --latex an "
        "amsmath aligned environment, --json fields and terms, --tokens the BART-L string.",
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument(
        "--json", action="store_const", dest="format", const="json", help="fields and terms"
    )
    fmt.add_argument(
        "--latex",
        action="store_const",
        dest="format",
        const="latex",
        help="a LaTeX aligned environment, a few terms per line",
    )
    fmt.add_argument(
        "--tokens", action="store_const", dest="format", const="tokens", help="BART-L tokens"
    )
    p.add_argument("--no-hc", action="store_true", help="tokens: do not write out h.c. terms")
    _add_field_source(p, "e.g. Q,u,d,L,e,H; default phi_k for scalars, psi_k for fermions")
    p.set_defaults(run=_run_lagrangian, format="text")


def _add_field_source(p: argparse.ArgumentParser, names_help: str) -> None:
    """The field list of a command: FIELDS or ``--model FILE``, and ``--names``."""
    p.add_argument(
        "--names",
        help="field names, one per field in input order, comma-separated (LaTeX allowed); "
        + names_help,
    )
    p.add_argument(
        "--model",
        metavar="FILE",
        help="read the fields (with names, real scalars, generations and extra symmetries) "
        "from a TOML model file instead of FIELDS",
    )
    p.add_argument(
        "fields",
        nargs="?",
        help='BART-L input, e.g. "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"',
    )


def _lagrangian_of(args: argparse.Namespace, command: str):
    """The Lagrangian of FIELDS or ``--model FILE`` (exactly one), renamed by ``--names``."""
    from lagnb.physics.engine import lagrangian

    if args.model is None and args.fields is None:
        raise UsageError(
            f"lagnb {command}", "the following arguments are required: fields (or --model FILE)"
        )
    if args.model is not None and args.fields is not None:
        raise UsageError(f"lagnb {command}", "give FIELDS or --model FILE, not both")
    if args.model is not None:
        from lagnb.physics.model import read_model

        lag = read_model(args.model).lagrangian()
    else:
        lag = lagrangian(args.fields)
    if args.names is not None:
        try:
            lag = lag.with_names(args.names.split(","))
        except LagnbError as exc:
            raise type(exc)(f"--names {args.names!r}: {str(exc).removeprefix('names: ')}") from None
    return lag


def _run_lagrangian(args: argparse.Namespace) -> int:
    lag = _lagrangian_of(args, "lagrangian")
    if args.format == "json":
        print(lag.json())
    elif args.format == "latex":
        print(lag.latex_aligned())
    elif args.format == "tokens":
        print(lag.tokens(hc=not args.no_hc))
    else:
        print(lag.to_text())
    return 0


def _add_export(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write the Lagrangian of a field list for feynlag, or as a UFO folder",
        description="--to feynlag: write the Lagrangian of the field list FIELDS (or of a TOML "
        "model file, --model FILE) as a standalone "
        "feynlag model file (groups, fields with feynlag's hypercharge Q = T3 + Y, every term in "
        "components, kinetic terms as covariant derivatives, complex couplings as real pairs, "
        "a vacuum stub). --to ufo: break the electroweak symmetry with --vev NAME=VALUE (one "
        "SU(2) doublet) and write a UFO folder through feynlag, checked by feynlag's numeric "
        "check; what its UFO writer cannot express is left out with a warning. Both need "
        "feynlag to run (pip install lagnb[feynlag]).",
    )
    p.add_argument("--to", choices=["feynlag", "ufo"], required=True, help="the target")
    p.add_argument("--out", required=True, help="the model file (feynlag) or folder (ufo)")
    _add_field_source(p, "they name the components (H -> H_1, H_2)")
    p.add_argument(
        "--vev", metavar="NAME=VALUE", help="ufo: the doublet that gets a vev, e.g. H=246"
    )
    p.add_argument(
        "--set",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="ufo: a parameter value, e.g. lambda_1=-0.13 (repeatable)",
    )
    p.add_argument("--model-name", default="lagnb_model", help="the model's name")
    p.set_defaults(run=_run_export)


def _assignment(option: str, text: str) -> tuple[str, float]:
    """``NAME=VALUE`` of an option, the value a finite number."""
    name, sep, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not sep or not name or number != number or number in (float("inf"), float("-inf")):
        raise LagnbError(f"{option} {text!r}: expected NAME=NUMBER, e.g. H=246")
    return name, number


def _run_export(args: argparse.Namespace) -> int:
    lag = _lagrangian_of(args, "export")
    if args.to == "feynlag":
        from lagnb.apps.export import write_feynlag

        path = write_feynlag(lag, args.out, args.model_name)
        print(f"wrote {path} ({len(lag.terms)} terms)")
        return 0
    import warnings

    from lagnb.apps.ufo import write_ufo

    if args.vev is None:
        raise LagnbError("--to ufo needs --vev NAME=VALUE (the doublet that breaks SU(2)×U(1))")
    name, vev = _assignment("--vev", args.vev)
    values = dict(_assignment("--set", a) for a in args.set)
    with warnings.catch_warnings():  # what is left out is printed below, once
        warnings.simplefilter("ignore", UserWarning)
        out = write_ufo(lag, args.out, {name: vev}, values, args.model_name)
    print(f"wrote {out.path}: {len(out.particles)} particles, {out.vertices} vertices")
    for message in out.left_out:
        print(f"left out: {message}")
    return 0


def _add_check(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "check",
        help="check terms (BART-L tokens) against a field list: a verdict per term, with reasons",
        description="Check each term against the field list FIELDS: gauge and Lorentz "
        "invariance, renormalizability (mass dimension <= 4), that it does not vanish "
        "identically, and which term of the engine's Lagrangian it is. A TERM argument or the "
        "--file may hold several terms (each starts with + or -), e.g. a model's output. "
        "Exit code 0 when every term is valid, 1 when some term is invalid or does not parse, "
        "2 for bad input (fields, file).",
    )
    p.add_argument(
        "--file",
        help="read terms from this file ('-': stdin), one per line or a "
        "whole Lagrangian token string",
    )
    p.add_argument("--json", action="store_true", help="the verdicts as JSON")
    p.add_argument("fields", help='BART-L input, e.g. "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"')
    p.add_argument(
        "terms",
        nargs="*",
        metavar="TERM",
        help="a term's tokens, e.g. \"+ FIELD SPIN 0 SU2 2 U1 1 ID0 FIELD SPIN 0 SU2 2 U1 - 1 "
        'DAGGER ID1 CONTRACTIONS SU2 ID0 ID1"',
    )
    p.set_defaults(run=_run_check)


def _read_text(path: str) -> str:
    """A user-named text file's contents (``-``: stdin); file errors name the path."""
    if path == "-":
        return sys.stdin.read()
    from pathlib import Path

    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise LagnbError(f"{path}: not a UTF-8 text file") from None


def _run_check(args: argparse.Namespace) -> int:
    import json

    from lagnb.physics.check import check_parsed
    from lagnb.physics.terms import Lagrangian
    from lagnb.physics.tokens import split_terms

    fields = _parse_fields(args.fields)
    texts = list(args.terms)
    if args.file is not None:
        texts.append(_read_text(args.file))
    terms = [t for text in texts for t in split_terms(text)]
    if not terms:
        where = "no terms given"
        if args.file is not None:
            where = f"{'stdin' if args.file == '-' else args.file} holds no terms"
        raise LagnbError(f"{where}: give terms as TERM arguments or with --file PATH")
    checks = [check_parsed(fields, t) for t in terms]
    if args.json:
        out = {
            "fields": Lagrangian(fields, ()).to_json()["fields"],
            "valid": all(c.valid for c in checks),
            "terms": [{"tokens": t, **c.to_json()} for t, c in zip(terms, checks)],
        }
        print(json.dumps(out, indent=2))
    else:
        for k, (t, c) in enumerate(zip(terms, checks), 1):
            print(f"term {k}: {c.status}: {t}")
            print(f"  {c.explain()}")
        counts = {s: sum(c.status == s for c in checks) for s in ("valid", "invalid", "malformed")}
        print(f"{len(checks)} term(s): " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return 0 if all(c.valid for c in checks) else 1


class _RenamedOption(argparse.Action):
    """An option's old name, hidden from --help: stores into the new one with a note."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        new = "--" + self.dest.replace("_", "-")
        print(f"{parser.prog}: {option_string} is deprecated, use {new}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def _add_train(sub: argparse._SubParsersAction, full: bool = True) -> None:
    from dataclasses import fields as dc_fields

    p = sub.add_parser(
        "train",
        help="train (or resume) a BART-L model on a dataset folder",
        description="Train a BART-L model on DATA/<split>/part-*.parquet (columns input, "
        "target). Resumes from OUT/checkpoint if present. The final model is written to OUT "
        "with train_log.json and loss.png. --target-format compact trains the model to write "
        "field objects as references F0…F15 to its input (shorter targets; prefixes and "
        "outputs stay BART-L). Multi-GPU: accelerate launch -m lagnb.cli train ...",
    )
    p.add_argument("--data", required=True, help="dataset folder (from 'lagnb sample')")
    p.add_argument("--out", required=True, help="output folder for the model and checkpoint")
    p.set_defaults(run=_run_train)
    if not full:
        # the training options come from TrainConfig, whose module imports torch (seconds):
        # built only when the command is 'train'
        return
    from lagnb.ml.train import TrainConfig

    skip = {"data", "out", "model_overrides", "keep_checkpoint"}
    # the command line's number types: integers are counts (≥ 1) unless listed here
    special = {
        "seed": int,
        "warmup": _count0,
        "clip": _float_at_least(0.0),  # 0: no gradient clipping
        "weight_decay": _float_at_least(0.0),
        "lr": _float_at_least(0.0, strict=True),
        "min_lr_ratio": _fraction,
    }
    from lagnb.ml.targets import INPUT_FORMATS, TARGET_FORMATS, TERM_ORDERS

    choices = {
        "target_format": TARGET_FORMATS,
        "input_format": INPUT_FORMATS,
        "term_order": TERM_ORDERS,
    }
    helps = {
        "target_format": "what the model learns to write: bart-l (the public spelling) or "
        "compact (field objects as references F0…F15 to the input, derivatives without their "
        "groups; converted to and from BART-L at the edges)",
        "input_format": "how the model reads the field list: bart-l (the public spelling) or "
        "compact (five tokens a field: FIELD, Lorentz type, SU(3) and SU(2) reps, 6Y as one "
        "token; converted from BART-L at the edge) or conjugates (compact, each field followed by "
        "its conjugate after DAGGER)",
        "term_order": "the order the model learns to write terms in: engine (Yukawas first) or "
        "kinetic-first (kinetic, gauge kinetic, mass, quartic, trilinear terms, then Yukawas)",
        "init_from": "start from this trained model folder's weights (a new optimizer and "
        "learning-rate schedule) instead of random ones; --size is then the folder's",
    }
    for f in dc_fields(TrainConfig):
        if f.name in skip:
            continue
        typ = {"int": _count, "float": _float_at_least(0.0), "str": str}
        base = str(f.type).split(" |")[0]
        p.add_argument(
            "--" + f.name.replace("_", "-"),
            type=special.get(f.name, typ.get(base, str)),
            default=f.default,
            choices=choices.get(f.name),
            help=" ".join(filter(None, (helps.get(f.name), f"(default: {f.default})"))),
        )
    p.add_argument(
        "--no-keep-checkpoint",
        dest="keep_checkpoint",
        action="store_false",
        help="delete OUT/checkpoint after a finished run (keeps only the model)",
    )
    p.add_argument(
        "--init-std",
        type=_float_at_least(0.0, strict=True),
        default=None,
        help="standard deviation of the initial weights (default: transformers' 0.02, meant "
        "for wide models; about d_model^-1/2, e.g. 0.088 for size small, helps a small model "
        "learn to read its input)",
    )
    p.add_argument(
        "--shape",
        type=_shape_arg,
        action="append",
        metavar="ENTRY=N",
        help="change the size's shape (repeatable): layers, d_model, heads, ffn or positions, "
        "e.g. --shape d_model=256 --shape layers=4",
    )
    p.add_argument("--stop-after", type=_count, default=None, help="stop (resumable) after N steps")
    p.add_argument("--fresh", action="store_true", help="delete OUT/checkpoint, start over")
    p.add_argument(  # --size was called --preset
        "--preset",
        dest="size",
        action=_RenamedOption,
        default=argparse.SUPPRESS,
        help=argparse.SUPPRESS,
    )


def _run_train(args: argparse.Namespace) -> int:
    from dataclasses import fields as dc_fields

    from lagnb.ml.model import shape_overrides
    from lagnb.ml.train import TrainConfig, train

    kw = {f.name: getattr(args, f.name) for f in dc_fields(TrainConfig) if hasattr(args, f.name)}
    overrides: dict[str, object] = dict(shape_overrides(args.size, dict(args.shape or ())))
    if args.init_std is not None:
        overrides["init_std"] = args.init_std
    if overrides:
        kw["model_overrides"] = overrides
    state = train(TrainConfig(**kw), stop_after=args.stop_after, fresh=args.fresh)
    last = state["history"][-1] if state["history"] else {}
    done = "finished" if state.get("finished") else "stopped (resume with the same command)"
    print(f"lagnb train: {done} at step {state['step']}; last log {last}; output {state['out']}")
    return 0


def _add_complete(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "complete", help="let the model propose the terms missing from a partial Lagrangian"
    )
    p.add_argument("fields", help='BART-L input, e.g. "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"')
    p.add_argument(
        "--partial",
        default="",
        help="the terms present (BART-L tokens); each gets the term checker's verdict",
    )
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--max-terms", type=_count, default=None, help="propose at most this many")
    p.add_argument(
        "--min-terms",
        type=_count0,
        default=0,
        help="propose at least this many (grammar-constrained decoding only; default 0)",
    )
    p.add_argument("--max-new-tokens", type=_count, default=None)
    p.add_argument("--unconstrained", action="store_true", help="no grammar constraint")
    p.add_argument(
        "--show-rejected",
        action="store_true",
        help="also list the suggestions the term checker rejects, marked invalid, after the "
        "others (default: they are dropped and counted)",
    )
    p.add_argument(
        "--keep-order",
        action="store_true",
        help="force the partial terms in the order given (default: BART-L order)",
    )
    p.add_argument(
        "--alternatives",
        type=_int_at_least(0),
        default=None,
        help="after the continuation, also offer those of the model's N best first terms, of "
        "its N best next terms after those and of its N best first terms led by each field, "
        "that the checker certifies as engine terms the "
        "partial Lagrangian and the suggestions lack, within --max-terms (0: none; default: "
        "lagnb.ml.generate.ALTERNATIVES)",
    )
    p.add_argument(
        "--threads",
        type=_count,
        default=1,
        help="CPU threads while decoding (default 1: fastest for small models)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(run=_run_complete)


def _run_complete(args: argparse.Namespace) -> int:
    import json

    # bad fields or a partial term that does not parse fail before the model loads (seconds)
    from lagnb.apps.autocomplete import complete_parsed, partial_terms, torch_threads

    fields = _parse_fields(args.fields)
    partial_terms(fields, args.partial)
    from lagnb.ml.model import load_bundle, shipped_model_path

    bundle = load_bundle(args.model or shipped_model_path())
    with torch_threads(args.threads):
        result = complete_parsed(
            bundle,
            fields,
            args.partial,
            max_terms=args.max_terms,
            max_new_tokens=args.max_new_tokens,
            constrained=not args.unconstrained,
            reorder=not args.keep_order,
            min_terms=args.min_terms,
            show_rejected=args.show_rejected,
            **_search(args),
        )
    print(json.dumps(result.to_json(), indent=2) if args.json else result.summary())
    return 0


def _add_decoding_flags(p: argparse.ArgumentParser) -> None:
    """--unconstrained and --raw (and the old --constrained, now the default)."""
    p.add_argument(
        "--unconstrained",
        action="store_true",
        help="decode without the token grammar (default: grammar-constrained, every term parses)",
    )
    p.add_argument(
        "--raw",
        action="store_true",
        help="keep every generated term (default: terms the term checker rejects are dropped)",
    )
    p.add_argument("--constrained", action="store_true", help=argparse.SUPPRESS)  # the default
    p.add_argument(
        "--alternatives",
        type=_int_at_least(0),
        default=None,
        help="for a term the checker rejects, try the model's N best alternatives for that "
        "term and keep the best it certifies, one of the same fields first; then add those of "
        "the model's N best first terms it certifies that the output lacks, and of its N best "
        "next terms after those, while any is added, then of its N best first terms led by each "
        "field and its conjugate (0: drop rejected terms, add nothing; "
        "default: lagnb.ml.generate.ALTERNATIVES)",
    )
    p.add_argument(
        "--orders",
        type=_count,
        default=None,
        help="also decode the field list in N - 1 other orders (reversed, then seeded "
        "shuffles) and add the terms of those outputs that the checker certifies as engine "
        "terms the output lacks; about N times the time (default: 1 for up to 3 fields, 4 "
        "from 4 fields on: lagnb.ml.generate.default_orders)",
    )


def _search(args: argparse.Namespace) -> dict[str, int]:
    """--alternatives (and --orders, where the command has it) as keyword arguments, where
    given (the defaults live with the decoder)."""
    given = {"alternatives": args.alternatives, "orders": getattr(args, "orders", None)}
    return {k: v for k, v in given.items() if v is not None}


def _add_generate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "generate",
        help="write a Lagrangian with a trained model (only terms the checker certifies)",
        description="Write the Lagrangian of a field list with a trained model.  By default "
        "decoding is grammar-constrained and every generated term goes to the engine's term "
        "checker: the terms it rejects are replaced by the model's first certified alternative "
        "(--alternatives) or dropped, the certified ones among the model's alternatives for its "
        "first terms that it did not write are added, and their numbers are reported on stderr "
        "(--json lists them with the checker's reason).  --unconstrained --raw prints the "
        "model's raw output.",
    )
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument(
        "--json", action="store_true", help="terms as JSON with check results, and dropped terms"
    )
    p.add_argument("--beams", type=_count, default=1, help="beam width (1 = greedy)")
    _add_decoding_flags(p)
    p.add_argument(
        "--prefix", default=None, help="partial Lagrangian (BART-L tokens) forced as the start"
    )
    p.add_argument("--max-new-tokens", type=_count, default=None)
    p.add_argument("fields", help='BART-L input, e.g. "[SOS] FIELD SPIN 0 SU2 2 U1 1 [EOS]"')
    p.set_defaults(run=_run_generate)


def _dropped_note(
    command: str, n: int, replaced: int = 0, added: int = 0, from_orders: int = 0
) -> None:
    """On stderr, a line each: how many generated terms the checker rejected and a certified
    alternative of the model's replaced, how many it dropped, and how many certified terms
    from the model's alternatives for its first terms (and its next after those), and from its
    outputs for other orders of the fields, were added."""
    if added:
        print(
            f"lagnb {command}: {added} certified term{'' if added == 1 else 's'} from the "
            f"model's alternatives for its first terms {'was' if added == 1 else 'were'} added "
            "(--alternatives 0 adds none)",
            file=sys.stderr,
        )
    if from_orders:
        print(
            f"lagnb {command}: {from_orders} certified term{'' if from_orders == 1 else 's'} "
            "from the model's outputs for other orders of the fields "
            f"{'was' if from_orders == 1 else 'were'} added (--orders 1 adds none)",
            file=sys.stderr,
        )
    if replaced:
        print(
            f"lagnb {command}: {replaced} generated term{'' if replaced == 1 else 's'} failed "
            "the checker and the model's certified alternative replaced "
            f"{'it' if replaced == 1 else 'them'} (--alternatives 0 drops them)",
            file=sys.stderr,
        )
    if n:
        print(
            f"lagnb {command}: {n} generated term{'' if n == 1 else 's'} failed the checker and "
            f"{'was' if n == 1 else 'were'} dropped (--raw keeps them)",
            file=sys.stderr,
        )


def _run_generate(args: argparse.Namespace) -> int:
    import json

    _parse_fields(args.fields)  # bad or empty fields fail before the model loads (seconds)
    from lagnb.ml.generate import generate, prediction_json
    from lagnb.ml.model import load_bundle, shipped_model_path

    bundle = load_bundle(args.model or shipped_model_path())
    g = generate(
        bundle,
        args.fields,
        prefix=args.prefix,
        num_beams=args.beams,
        max_new_tokens=args.max_new_tokens,
        constrained=not args.unconstrained,
        certified=not args.raw,
        **_search(args),
        details=True,
    )
    if args.json:
        out = prediction_json(args.fields, g.text)
        out["dropped"] = [d.to_json() for d in g.dropped]
        out["replaced"] = [{"rejected": d.to_json(), "by": t} for d, t in g.replaced]
        out["added"] = list(g.added)
        out["from_orders"] = list(g.from_orders)
        out["finished"] = g.finished
        print(json.dumps(out, indent=2))
    else:
        print(g.text)
    _dropped_note("generate", len(g.dropped), len(g.replaced), len(g.added), len(g.from_orders))
    return 0


def _add_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a model against the engine (data + benchmarks)",
        description="Generate for held-out field lists and the named benchmarks, and score "
        "against the engine.  By default decoding is grammar-constrained and the generated "
        "terms the term checker rejects are replaced by the model's first certified alternative "
        "or dropped, and certified alternatives for the first terms added, before scoring (the "
        "columns raw_validity, replaced_terms, dropped_terms, added_terms and order_terms say "
        "how many); "
        "--unconstrained --raw scores the model's raw output.",
    )
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--data", default=None, help="dataset folder (splits test, ood)")
    p.add_argument("--splits", nargs="+", default=["test", "ood"])
    p.add_argument("--max-examples", type=_count, default=None, help="per split")
    p.add_argument("--no-benchmarks", dest="benchmarks", action="store_false")
    p.add_argument(
        "--sectors",
        type=_int_at_least(0),
        default=0,
        help="also score N contents 'SM sector + one BSM field' (split sm+bsm)",
    )
    p.add_argument("--beams", type=_count, default=1)
    _add_decoding_flags(p)
    p.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="do not score validity (certification still checks terms unless --raw)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--out", default=None, help="also write per-example rows (.parquet/.csv)")
    p.set_defaults(run=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    import json

    from lagnb.ml.evaluate import evaluate
    from lagnb.ml.model import load_bundle, shipped_model_path

    bundle = load_bundle(args.model or shipped_model_path())
    res = evaluate(
        bundle,
        args.data,
        splits=args.splits,
        benchmarks=args.benchmarks,
        sectors=args.sectors,
        max_examples=args.max_examples,
        num_beams=args.beams,
        constrained=not args.unconstrained,
        certified=not args.raw,
        **_search(args),
        check=args.check,
        progress=not args.json,
    )
    if args.out:
        rows = res.rows.assign(malformed=res.rows["malformed"].map(list))
        if args.out.endswith(".csv"):
            rows.to_csv(args.out, index=False)
        else:
            rows.to_parquet(args.out, index=False)
    if args.json:
        print(json.dumps(res.to_json(), indent=2))
    else:
        import pandas as pd

        with pd.option_context(
            "display.width", 160, "display.max_columns", 20, "display.precision", 3
        ):
            print(res.summary("split"))
            print(res.summary(["split", "n_fields"]))
            if args.benchmarks:
                cols = ["name", "n_true", "n_pred", "f1", "f1_no_gauge", "exact"]
                cols += ["paper_score", "validity", "raw_validity", "dropped_terms"]
                print(res.rows[res.rows["split"] == "benchmark"][cols].to_string(index=False))
    return 0


def _weights_arg(text: str) -> dict[str, float] | list[str]:
    """``"1:4,3:2"`` → {"1": 4.0, "3": 2.0}; ``"0,1/3,-1/3"`` → ["0", "1/3", "-1/3"]."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if all(":" in t for t in items):
        out: dict[str, float] = {}
        for t in items:
            key, _, w = t.rpartition(":")
            try:
                out[key.strip()] = float(w)
            except ValueError:
                raise argparse.ArgumentTypeError(f"bad weight in {t!r}") from None
        return out
    if any(":" in t for t in items):
        raise argparse.ArgumentTypeError(f"give weights for all values or none: {text!r}")
    return items


def _pair_arg(convert: Callable[[str], Any], form: str) -> Callable[[str], tuple[str, Any]]:
    """An argparse type for ``KEY=VALUE`` (``form`` shows one in the error message)."""

    def parse(text: str) -> tuple[str, Any]:
        key, _, value = text.partition("=")
        try:
            return key.strip(), convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {form}, got {text!r}") from None

    return parse


_shape_arg = _pair_arg(int, "ENTRY=INTEGER (e.g. d_model=256)")
_target_arg = _pair_arg(float, "FEATURE=FRACTION (e.g. trilinear=0.25)")


def _add_sample(sub: argparse._SubParsersAction) -> None:
    from lagnb.data.features import FEATURES

    p = sub.add_parser(
        "sample",
        help="sample a dataset of (fields, Lagrangian) pairs to DIR (parquet, resumable)",
        description="Sample random field contents, write their exact Lagrangians to "
        "OUT/<split>/part-*.parquet and OUT/meta.json, and print the achieved feature "
        "fractions. An interrupted run resumes when called again with the same parameters.",
    )
    p.add_argument("--out", required=True, help="dataset folder")
    p.add_argument("--n", type=_count, default=1000, help="in-distribution Lagrangians")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strategy", choices=["uniform", "enriched"], default="uniform")
    p.add_argument(
        "--target",
        type=_target_arg,
        action="append",
        metavar="FEATURE=FRAC",
        help="enriched: minimum fraction of a feature (repeatable; default targets if none); "
        f"features: {', '.join(FEATURES)} (lagnb.data.features)",
    )
    p.add_argument("--min-fields", type=_count, default=1)
    p.add_argument("--max-fields", type=_count, default=6)
    p.add_argument(
        "--n-fields",
        type=_weights_arg,
        help='weights of the number of fields, e.g. "1:1,2:2,3:4" (default: uniform)',
    )
    p.add_argument("--reps", default="default", help="default | uniform | bart-l")
    p.add_argument("--su3", type=_weights_arg, help='SU(3) reps, e.g. "1,3,-3" or "1:4,3:1"')
    p.add_argument("--su2", type=_weights_arg, help='SU(2) reps, e.g. "1,2,3"')
    p.add_argument("--spins", type=_weights_arg, help='e.g. "scalar:2,left:1,right:1"')
    p.add_argument("--hypercharges", type=_weights_arg, help='e.g. "0,1/3,-1/3,1,-1"')
    p.add_argument("--p-scalars-only", type=_fraction, default=0.3)
    p.add_argument("--max-target-len", type=_count0, default=2048, help="0: no limit")
    p.add_argument("--no-shuffle", action="store_true", help="fields in canonical order")
    p.add_argument("--valid-fraction", type=_fraction, default=0.05)
    p.add_argument("--test-fraction", type=_fraction, default=0.05)
    p.add_argument("--n-ood", type=_count0, default=None, help="ood split size (default 5%% of n)")
    p.add_argument("--ood-min-fields", type=_count, default=None)
    p.add_argument("--ood-max-fields", type=_count, default=None)
    p.add_argument("--shard-size", type=_count, default=1024)
    p.add_argument("--max-candidates", type=_count, default=None)
    p.add_argument("--workers", type=_count, default=None, help="processes (default: all cores)")
    p.add_argument("--max-shards", type=_count, default=None, help="stop after this many shards")
    p.add_argument("--overwrite", action="store_true", help="replace a different dataset")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=_run_sample)


def _run_sample(args: argparse.Namespace) -> int:
    from lagnb.data.build import build_dataset
    from lagnb.data.reader import read_meta
    from lagnb.data.stats import sample_summary

    params = {
        "n": args.n,
        "seed": args.seed,
        "strategy": args.strategy,
        "targets": dict(args.target) if args.target else None,
        "min_fields": args.min_fields,
        "max_fields": args.max_fields,
        "n_fields_weights": args.n_fields,
        "reps": args.reps,
        "su3_weights": args.su3,
        "su2_weights": args.su2,
        "spin_weights": args.spins,
        "hypercharges": args.hypercharges,
        "p_scalars_only": args.p_scalars_only,
        "max_target_len": args.max_target_len or None,
        "shuffle": not args.no_shuffle,
        "valid_fraction": args.valid_fraction,
        "test_fraction": args.test_fraction,
        "n_ood": args.n_ood,
        "ood_min_fields": args.ood_min_fields,
        "ood_max_fields": args.ood_max_fields,
        "shard_size": args.shard_size,
        "max_candidates": args.max_candidates,
    }
    out = build_dataset(
        args.out,
        workers=args.workers,
        progress=not args.no_progress,
        overwrite=args.overwrite,
        max_shards=args.max_shards,
        **params,
    )
    try:
        meta = read_meta(out)
    except LagnbError:
        print(f"stopped after --max-shards {args.max_shards}; run again to resume ({out})")
        return 0
    print(f"dataset: {out}")
    print(sample_summary(meta))
    return 0


def _add_import_csv(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-csv",
        help="import a dataset in the public BART-L CSV layout (fields, Lagrangian, train/eval)",
    )
    p.add_argument("csv", help="local CSV file")
    p.add_argument("--out", required=True, help="dataset folder")
    p.add_argument("--valid-fraction", type=_fraction, default=0.05)
    p.add_argument("--eval-split", choices=["valid", "test"], default="test")
    p.add_argument("--keep-duplicates", action="store_true")
    p.add_argument("--max-rows", type=_count, default=None)
    p.add_argument("--skip-bad-rows", action="store_true")
    p.add_argument("--workers", type=_count, default=None)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=_run_import_csv)


def _run_import_csv(args: argparse.Namespace) -> int:
    from lagnb.data.importing import import_bart_l_csv
    from lagnb.data.reader import read_meta
    from lagnb.data.stats import sample_summary

    out = import_bart_l_csv(
        args.csv,
        args.out,
        valid_fraction=args.valid_fraction,
        eval_split=args.eval_split,
        dedupe=not args.keep_duplicates,
        max_rows=args.max_rows,
        on_error="skip" if args.skip_bad_rows else "raise",
        workers=args.workers,
        progress=not args.no_progress,
        overwrite=args.overwrite,
    )
    meta = read_meta(out)
    print(f"dataset: {out}")
    print(sample_summary(meta))
    info = meta["phases"]["main"]
    print(
        f"rows read {info['rows']}, duplicates dropped {info['duplicates']} "
        f"({info['cross_split_duplicates']} across train/eval), bad rows {info['errors']}"
    )
    return 0


def _add_stats(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("stats", help="statistics of a dataset folder (and an overview PNG)")
    p.add_argument("data", help="dataset folder")
    p.add_argument("--png", help="write the overview figure here")
    p.set_defaults(run=_run_stats)


def _run_stats(args: argparse.Namespace) -> int:
    from lagnb.data.reader import load_frame, read_meta
    from lagnb.data.stats import length_summary, plot_overview, sample_summary

    meta = read_meta(args.data)
    print(sample_summary(meta))
    df = load_frame(args.data)
    print(length_summary(df).to_string())
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        plot_overview(
            df, meta.get("targets"), meta.get("params", {}).get("max_target_len"), args.png
        )
        print(f"figure: {args.png}")
    return 0


def _add_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="execute a notebook headlessly (papermill) with parameters",
        description="Execute NOTEBOOK (a path, or a name under notebooks/) into a run folder. "
        "Fails with the failing cell's error and a non-zero exit code.",
    )
    p.add_argument("notebook")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="a parameter (Python literal or string); repeatable",
    )
    p.add_argument("--out", help="executed notebook path (default RUN_DIR/<name>)")
    p.add_argument("--run-dir", help="run folder (default runs/<stem>-<timestamp>)")
    p.add_argument("--kernel", help="kernel name (default: the notebook's)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=_run_run)


def _run_run(args: argparse.Namespace) -> int:
    from lagnb.pipeline import parameter_pairs, run_notebook

    out = run_notebook(
        args.notebook,
        parameter_pairs(args.parameter),
        output=args.out,
        run_dir=args.run_dir,
        kernel_name=args.kernel,
        progress=not args.no_progress,
    )
    print(f"executed notebook: {out}")
    return 0


def _add_pipeline(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "pipeline",
        help="run the project's notebooks in order on a profile (default: tiny)",
        description="Execute notebooks/NN_*.ipynb in order with the profile's parameters into "
        "runs/<profile>/ (missing notebooks are skipped). Stops at the first failing cell.",
    )
    p.add_argument("--profile", default="tiny", help="tiny (default) | small | paper")
    p.add_argument("--run-dir", help="folder for the executed notebooks (default runs/<profile>)")
    p.add_argument("--only", nargs="+", metavar="PREFIX", help="e.g. --only 01 02")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="override a parameter in every notebook that declares it; repeatable",
    )
    p.add_argument("--kernel", help="kernel name (default: each notebook's)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(run=_run_pipeline)


def _run_pipeline(args: argparse.Namespace) -> int:
    from lagnb.pipeline import parameter_pairs, run_pipeline

    done = run_pipeline(
        args.profile,
        run_dir=args.run_dir,
        only=args.only,
        overrides=parameter_pairs(args.parameter),
        kernel_name=args.kernel,
        progress=not args.no_progress,
    )
    print(f"pipeline {args.profile}: {len(done)} notebook(s) executed")
    for path in done:
        print(f"  {path}")
    return 0


# Subcommands register here, one function each (keep this list in the order of the README).
SUBCOMMANDS = [
    _add_lagrangian,
    _add_check,
    _add_export,
    _add_train,
    _add_generate,
    _add_evaluate,
    _add_complete,
    _add_sample,
    _add_import_csv,
    _add_stats,
    _add_run,
    _add_pipeline,
]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser.  The train options come from ``TrainConfig``, whose module imports torch
    (seconds): they are built only for ``command == "train"`` or when ``command`` is None."""
    parser = _Parser(prog="lagnb", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")
    for add in SUBCOMMANDS:
        if add is _add_train:
            _add_train(sub, full=command in (None, "train"))
        else:
            add(sub)
    return parser


def _is_option(arg: str) -> bool:
    """argparse's rule: ``-x`` is an option, ``- FIELD …`` (with a space) a term."""
    return arg.startswith("-") and " " not in arg and arg != "-"


def _os_message(exc: OSError) -> str:
    """One line for a file error, naming the path (``exc.filename``) when there is one."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is None:
        return reason
    where = f"{exc.filename!s}" + (f" -> {exc.filename2!s}" if exc.filename2 else "")
    return f"{where}: {reason}"


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so that the interpreter's final flush
    does not fail again (the recipe of the Python docs, "Note on SIGPIPE")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (e.g. captured in tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lagnb`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code.

    Bad input (a :class:`LagnbError` or a file error) prints one line on stderr and returns
    2; bugs still raise with their traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    prog, name = "lagnb", None
    try:
        # with no command ('lagnb --help') the train options are not needed: skip torch
        parser = build_parser(command or "")
        try:
            args, extra = parser.parse_known_args(argv)
        except SystemExit as exc:  # --help
            return exc.code if isinstance(exc.code, int) else 0
        name = args.command
        prog = f"lagnb {name}"
        if extra and name == "check" and not any(_is_option(a) for a in extra):
            args.terms += extra  # terms after an option: lagnb check FIELDS --json TERM
        elif extra:
            if name == "check":
                extra = [a for a in extra if _is_option(a)]
            raise UsageError(prog, f"unrecognized arguments: {' '.join(extra)}")
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed stdout fails here, inside the handlers below
        return code
    except UsageError as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except LagnbError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as exc:
        print(f"{prog}: error: {_os_message(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        again = " (run the same command again to resume)" if name in RESUMABLE else ""
        print(f"{prog}: interrupted{again}", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
