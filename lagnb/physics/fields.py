"""Matter fields: complex scalars and Weyl fermions with SU(3)×SU(2)×U(1) quantum numbers.

Hypercharge convention (as in the BART-L data): Q = T3 + Y/2, so the Higgs doublet has Y = 1,
the quark doublet Y = 1/3, the lepton doublet Y = −1.  Gauge invariance does not depend on the
normalisation, only the presets and the LaTeX names do.

A Weyl fermion has helicity −1/2 (left-handed, an undotted spinor ψ_α) or +1/2 (right-handed,
a dotted spinor χ^†α̇).  The conjugate of a field carries the conjugate representation, the
opposite hypercharge and the opposite helicity.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction

from lagnb.errors import FieldError, TokenError
from lagnb.physics.groups import SU2_REPS, SU3_REPS, su3_conjugate
from lagnb.physics.symmetries import Symmetry, declared_symmetry

HALF = Fraction(1, 2)


_DIGITS = frozenset("0123456789")
MAX_DIGITS = 100
"""Longest number in a token string (Python refuses to convert beyond 4300 digits)."""

_NUMBER_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:/[0-9]+)?|[0-9]+\.[0-9]*|\.[0-9]+)")
_NON_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)


def number_from_text(text: str) -> Fraction | None:
    """The exact value of an integer, fraction or finite decimal written as text.

    ``'3'``, ``'-7/6'``, ``'0.5'`` (= 1/2), ``'.1'`` (= 1/10).  None when ``text`` is none of
    these: ``nan``, ``inf``, ``1e-3``, a zero denominator, more than :data:`MAX_DIGITS` digits.
    """
    if not _NUMBER_TEXT.fullmatch(text) or sum(c.isdigit() for c in text) > MAX_DIGITS:
        return None
    num, _, den = text.partition("/")
    if den and int(den) == 0:
        return None
    return Fraction(num) / int(den or 1)


def _as_fraction(value: object, what: str) -> Fraction:
    """A quantum number given to the Python API as a number or a string, exactly."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real | str):
        raise FieldError(f"{what} must be a number, got {value!r}")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FieldError(f"{what} must be a finite number, got {value!r}")
        out = Fraction(value).limit_denominator(1000)
        if abs(out - Fraction(value)) > 1e-12 * abs(value):
            raise FieldError(
                f"{what} {value!r} is no fraction with denominator up to 1000; "
                "give it exactly as a string like '1/3' or a Fraction"
            )
    elif isinstance(value, str):
        text = value.replace(" ", "")
        parsed = number_from_text(text)
        if parsed is None:
            if re.fullmatch(r"[+-]?\d+/0+", text):
                raise FieldError(f"{what} {value!r} has a zero denominator")
            if _NON_FINITE.fullmatch(text):
                raise FieldError(f"{what} must be a finite number, got {value!r}")
            raise FieldError(f"{what} {value!r} is not a rational number like 1/3, -7/6 or 0.5")
        out = parsed
    elif isinstance(value, numbers.Rational):
        out = Fraction(value)
    else:
        raise FieldError(f"{what} must be an exact number (int, Fraction or '1/3'), got {value!r}")
    if abs(out.numerator) >= 10**MAX_DIGITS or out.denominator >= 10**MAX_DIGITS:
        raise FieldError(f"{what} has more than {MAX_DIGITS} digits")
    return out


Charges = tuple[tuple[Symmetry, Fraction], ...]
"""A field's charges under extra symmetries: (symmetry, charge) sorted by symmetry, non-zero
only; a Z_N charge is an integer in 0 … N − 1."""


def symmetry_charge(sym: Symmetry, value: object, what: str) -> Fraction:
    """A charge under ``sym`` as given by a user, exactly: any rational for a U(1), an integer
    taken mod N for a Z_N."""
    q = _as_fraction(value, f"{what}: {sym.name} charge")
    if sym.is_discrete:
        if q.denominator != 1:
            raise FieldError(
                f"{what}: Z_{sym.order} charge {q} under {sym.name} is not an integer "
                f"(Z_N charges are integers mod N: 0 … {sym.order - 1})"
            )
        q = Fraction(q.numerator % sym.order)
    return q


def _normalise_charges(value: object, what: str) -> Charges:
    """Charges given as a mapping {Symmetry: charge} or pairs, in the canonical form."""
    if isinstance(value, dict):
        items = list(value.items())
    else:
        try:
            items = [tuple(p) for p in value]  # type: ignore[union-attr]
        except TypeError:
            raise FieldError(f"{what}: charges must map symmetries to charges") from None
    out: dict[Symmetry, Fraction] = {}
    for item in items:
        if len(item) != 2 or not isinstance(item[0], Symmetry):
            raise FieldError(
                f"{what}: charges must map lagnb Symmetry objects to numbers, got {item!r} "
                "(declare the symmetry with Symmetry(...) or in a model file)"
            )
        sym, raw = item
        if sym in out:
            raise FieldError(f"{what}: two charges under {sym.name}")
        if any(s.name == sym.name for s in out):
            raise FieldError(f"{what}: two different symmetries named {sym.name!r}")
        q = symmetry_charge(sym, raw, what)
        if q:
            out[sym] = q
    return tuple(sorted(out.items()))


def _negated(charges: Charges) -> Charges:
    """The charges of the conjugate field: −q (mod N for a Z_N)."""
    return tuple(
        (s, Fraction((-q.numerator) % s.order) if s.is_discrete else -q) for s, q in charges
    )


@dataclass(frozen=True)
class Field:
    """One matter field.

    Args:
        spin: 0 (scalar) or 1/2 (Weyl fermion).
        su3: SU(3) representation by signed dimension: 1, 3, -3 (3̄), 6, -6 (6̄), 8.
        su2: SU(2) representation by dimension: 1, 2, 3, 4.
        y: hypercharge (Q = T3 + Y/2), any rational number.
        helicity: −1/2 (left-handed) or +1/2 (right-handed) for a fermion; None for a scalar.
        name: optional display name (LaTeX allowed, e.g. ``"u_R"``).
        real: a real scalar (S = S*): allowed for a scalar in a real representation — SU(3) 1
            or 8, SU(2) 1 or 3, Y = 0, zero U(1)′ charges, Z_N charge 0 or N/2.  It has no
            separate conjugate, so odd powers (S³, H†H S) exist.  Complex is the default.
        generations: the number of copies n ≥ 1 (flavours) with these quantum numbers; a
            coupling then carries one flavour index per such field in the term.
        charges: charges under extra Abelian symmetries, a mapping {:class:`Symmetry`: q}
            (zero when left out); Z_N charges are integers taken mod N.
    """

    spin: Fraction
    su3: int = 1
    su2: int = 1
    y: Fraction = Fraction(0)
    helicity: Fraction | None = None
    name: str | None = field(default=None, compare=False)
    real: bool = False
    generations: int = 1
    charges: Charges = ()

    def __post_init__(self) -> None:
        label = f"field {self.name!r}" if self.name else "field"
        spin = _as_fraction(self.spin, f"{label}: spin")
        if spin not in (0, HALF):
            raise FieldError(f"{label}: spin {spin} is not supported (only 0 and 1/2)")
        object.__setattr__(self, "spin", spin)
        for key, rep in (("su3", self.su3), ("su2", self.su2)):
            if isinstance(rep, bool) or not isinstance(rep, numbers.Integral):
                raise FieldError(
                    f"{label}: {key} must be an integer dimension like 3 (or -3 for the 3̄), "
                    f"got {rep!r}"
                )
            object.__setattr__(self, key, int(rep))
        if self.su3 not in SU3_REPS:
            raise FieldError(
                f"{label}: unknown SU(3) representation {self.su3!r}; "
                "expected one of 1, 3, -3 (3̄), 6, -6 (6̄), 8"
            )
        if self.su2 not in SU2_REPS:
            raise FieldError(
                f"{label}: unknown SU(2) representation {self.su2!r}; expected one of 1, 2, 3, 4"
            )
        object.__setattr__(self, "y", _as_fraction(self.y, f"{label}: hypercharge"))
        if spin == 0:
            if self.helicity is not None:
                raise FieldError(f"{label}: a scalar has no helicity (got {self.helicity})")
        else:
            if self.helicity is None:
                raise FieldError(f"{label}: a spin-1/2 field needs helicity -1/2 or +1/2")
            hel = _as_fraction(self.helicity, f"{label}: helicity")
            if hel not in (-HALF, HALF):
                raise FieldError(f"{label}: helicity {hel} is not -1/2 or +1/2")
            object.__setattr__(self, "helicity", hel)
        self._check_options(label)

    def _check_options(self, label: str) -> None:
        """Validate and normalise ``real``, ``generations`` and ``charges``."""
        if not isinstance(self.real, bool):
            raise FieldError(f"{label}: real must be True or False, got {self.real!r}")
        gens = self.generations
        if isinstance(gens, bool) or not isinstance(gens, numbers.Integral):
            raise FieldError(f"{label}: generations must be an integer ≥ 1, got {gens!r}")
        if gens < 1:
            raise FieldError(f"{label}: generations must be at least 1, got {gens}")
        object.__setattr__(self, "generations", int(gens))
        object.__setattr__(self, "charges", _normalise_charges(self.charges, label))
        if self.real:
            if not self.is_scalar:
                raise FieldError(
                    f"{label}: only a scalar can be real (a Weyl fermion is complex; a Majorana "
                    "mass is the term ψψ of a left-handed field)"
                )
            bad = []
            if self.su3 not in (1, 8):
                bad.append(f"SU(3) {self.su3}")
            if self.su2 not in (1, 3):
                bad.append(f"SU(2) {self.su2}")
            if self.y != 0:
                bad.append(f"hypercharge {self.y}")
            for sym, q in self.charges:
                if not sym.is_discrete:
                    bad.append(f"{sym.name} charge {q}")
                elif 2 * q != sym.order:
                    bad.append(f"Z_{sym.order} charge {q} under {sym.name}")
            if bad:
                raise FieldError(
                    f"{label}: a real scalar needs a real representation (SU(3) 1 or 8, SU(2) 1 "
                    "or 3, zero hypercharge and U(1) charges, Z_N charge 0 or N/2); "
                    f"{', '.join(bad)} is not real"
                )

    def __repr__(self) -> str:
        base = (
            f"Field(spin={self.spin!r}, su3={self.su3!r}, su2={self.su2!r}, y={self.y!r}, "
            f"helicity={self.helicity!r}, name={self.name!r}"
        )
        extra = ""
        if self.real:
            extra += ", real=True"
        if self.generations != 1:
            extra += f", generations={self.generations}"
        if self.charges:
            extra += f", charges={dict(self.charges)!r}"
        return base + extra + ")"

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def scalar(
        cls,
        su3: int = 1,
        su2: int = 1,
        y: object = 0,
        name: str | None = None,
        *,
        real: bool = False,
        generations: int = 1,
        charges: object = (),
    ) -> Field:
        """A complex scalar (a real one with ``real=True``)."""
        y = _as_fraction(y, "hypercharge")
        return cls(Fraction(0), su3, su2, y, None, name, real, generations, charges)  # type: ignore[arg-type]

    @classmethod
    def left(
        cls,
        su3: int = 1,
        su2: int = 1,
        y: object = 0,
        name: str | None = None,
        *,
        generations: int = 1,
        charges: object = (),
    ) -> Field:
        """A left-handed Weyl fermion (helicity −1/2)."""
        y = _as_fraction(y, "hypercharge")
        return cls(HALF, su3, su2, y, -HALF, name, False, generations, charges)  # type: ignore[arg-type]

    @classmethod
    def right(
        cls,
        su3: int = 1,
        su2: int = 1,
        y: object = 0,
        name: str | None = None,
        *,
        generations: int = 1,
        charges: object = (),
    ) -> Field:
        """A right-handed Weyl fermion (helicity +1/2)."""
        y = _as_fraction(y, "hypercharge")
        return cls(HALF, su3, su2, y, HALF, name, False, generations, charges)  # type: ignore[arg-type]

    # -- properties ---------------------------------------------------------------------------
    @property
    def is_scalar(self) -> bool:
        return self.spin == 0

    @property
    def is_fermion(self) -> bool:
        return self.spin == HALF

    @property
    def is_singlet(self) -> bool:
        """True for a total gauge singlet (1, 1, 0)."""
        return self.su3 == 1 and self.su2 == 1 and self.y == 0

    @property
    def is_bart_l(self) -> bool:
        """True for a field the BART-L format can write: complex, one generation, no charges
        under extra symmetries."""
        return not self.real and self.generations == 1 and not self.charges

    def charge(self, sym: Symmetry) -> Fraction:
        """The charge under ``sym`` (0 when the field carries none)."""
        return next((q for s, q in self.charges if s == sym), Fraction(0))

    def conjugate(self) -> Field:
        """The conjugate field: conjugate representation, −Y, opposite helicity and charges.

        A real scalar is its own conjugate."""
        if self.real:
            return self
        hel = None if self.helicity is None else -self.helicity
        return replace(
            self,
            su3=su3_conjugate(self.su3),
            y=-self.y,
            helicity=hel,
            charges=_negated(self.charges),
        )

    def tokens(self, conjugate: bool = False) -> list[str]:
        """BART-L tokens of the field (or of its conjugate, ending in ``DAGGER``)."""
        f = self.conjugate() if conjugate else self
        out = ["FIELD", "SPIN", *number_tokens(f.spin)]
        if f.su3 != 1:
            out += ["SU3", *number_tokens(Fraction(f.su3))]
        if f.su2 != 1:
            out += ["SU2", str(f.su2)]
        if f.y != 0:
            out += ["U1", *number_tokens(f.y)]
        if f.helicity is not None:
            out += ["HEL", *number_tokens(f.helicity)]
        if conjugate:
            out.append("DAGGER")
        return out

    def extension_tokens(self) -> list[str]:
        """The input tokens beyond BART-L: ``REAL``, ``GEN n``, ``CHARGE name q`` (empty for a
        field BART-L can write)."""
        out = ["REAL"] if self.real else []
        if self.generations != 1:
            out += ["GEN", *number_tokens(Fraction(self.generations))]
        for s, q in self.charges:
            out += ["CHARGE", s.name, *number_tokens(q)]
        return out

    def describe(self) -> str:
        """Short human-readable quantum numbers, e.g. ``(3, 2, 1/3) L``."""
        su3 = f"{-self.su3}bar" if self.su3 < 0 else str(self.su3)
        chir = "" if self.is_scalar else (" L" if self.helicity < 0 else " R")
        kind = ("real scalar" if self.real else "scalar") if self.is_scalar else "Weyl"
        extra = "".join(f", {s.name} {q}" for s, q in self.charges)
        gens = f" ×{self.generations}" if self.generations != 1 else ""
        return f"{kind} ({su3}, {self.su2}, {self.y}{extra}){chir}{gens}"


def number_tokens(value: Fraction) -> list[str]:
    """BART-L tokens of a rational number: sign, digits one by one, ``/``, digits.

    ``Fraction(-7, 2)`` → ``['-', '7', '/', '2']``; ``40`` → ``['4', '0']``.
    """
    out = ["-"] if value < 0 else []
    out += list(str(abs(value.numerator)))
    if value.denominator != 1:
        out += ["/", *str(value.denominator)]
    return out


def default_names(fields: Sequence[Field]) -> list[str]:
    """Display names: the field's own name, else φ_k for scalars and ψ_k for fermions."""
    names = []
    for k, f in enumerate(fields, start=1):
        names.append(f.name or (rf"\phi_{{{k}}}" if f.is_scalar else rf"\psi_{{{k}}}"))
    return names


def check_names(fields: Sequence[Field], names: Sequence[str]) -> list[str]:
    """Display names chosen by the user, one per field in input order (LaTeX allowed).

    Raises :class:`FieldError` for a wrong count, an empty or repeated name, unbalanced
    braces or a character LaTeX cannot show in a name (``& % # $``).
    """
    if isinstance(names, str):
        raise FieldError("names: give a list of names, one per field (not one string)")
    out = [str(n).strip() for n in names]
    if len(out) != len(fields):
        raise FieldError(
            f"names: {len(out)} name(s) for {len(fields)} field(s); give one name per field, "
            "in input order"
        )
    for k, name in enumerate(out, start=1):
        if not name:
            raise FieldError(f"names: name {k} is empty")
        if bad := sorted(set(name) & set("&%#$")):
            raise FieldError(f"names: name {name!r} contains {bad[0]!r}, which LaTeX cannot show")
        depth = 0
        for c in name:
            depth += {"{": 1, "}": -1}.get(c, 0)
            if depth < 0:
                break
        if depth != 0:
            raise FieldError(f"names: name {name!r} has unbalanced braces")
        if out.index(name) != k - 1:
            raise FieldError(f"names: {name!r} is given twice; names must differ")
    return out


# -- parsing the BART-L input string --------------------------------------------------------------
_KEYWORDS = {"FIELD", "SPIN", "SU3", "SU2", "U1", "HEL", "[SOS]", "[EOS]", "DAGGER"}
EXTENSION_TOKENS = ("SYMMETRY", "GAUGED", "GLOBAL", "Z", "REAL", "GEN", "CHARGE")
"""Input tokens beyond BART-L (issue 12), never in a BART-L string: before the first field,
``SYMMETRY <name> GAUGED|GLOBAL|Z <N>`` declares an extra symmetry; after a field's HEL (or
its last BART-L token), ``REAL`` marks a real scalar, ``GEN <n>`` its generations and
``CHARGE <name> <q>`` (repeatable) a charge under a declared symmetry."""


def split_tokens(text: str) -> list[str]:
    """Whitespace-split a BART-L string, splitting compact numbers (``1/2`` → ``1 / 2``).

    The public CSVs keep ``SPIN 1/2`` and ``HEL -1/2`` unsplit and numbers like ``40`` are
    single characters in the token grammar; this normalises both.
    """
    out: list[str] = []
    for tok in text.split():
        if len(tok) > 1 and tok[0] in "-0123456789/" and _COMPACT_NUMBER.fullmatch(tok):
            out.extend(tok)
        else:
            out.append(tok)
    return out


_COMPACT_NUMBER = re.compile(r"[-0-9/]+")


def _read_number(toks: list[str], pos: int, where: str) -> tuple[Fraction, int]:
    """Read ``[-] digits [/ digits]`` starting at ``pos``; return (value, next position)."""
    sign = 1
    if pos < len(toks) and toks[pos] == "-":
        sign, pos = -1, pos + 1
    if pos < len(toks) and toks[pos] not in _DIGITS:
        return sign * _number_token(toks[pos], sign, where), pos + 1

    def digits(p: int) -> tuple[str, int]:
        start = p
        while p < len(toks) and toks[p] in _DIGITS:  # ASCII only: '²'.isdigit() is True
            p += 1
        if p - start > MAX_DIGITS:
            raise TokenError(f"{where}: a number of {p - start} digits (at most {MAX_DIGITS})")
        return "".join(toks[start:p]), p

    num, pos = digits(pos)
    if not num:
        got = toks[pos] if pos < len(toks) else "end of input"
        raise TokenError(f"{where}: expected a number, got {got!r}")
    den = "1"
    if pos < len(toks) and toks[pos] == "/":
        den, pos = digits(pos + 1)
        if not den:
            raise TokenError(f"{where}: a '/' must be followed by digits")
        if int(den) == 0:
            raise TokenError(f"{where}: division by zero in {num}/0")
    return Fraction(sign * int(num), int(den)), pos


_BAR = re.compile(r"([0-9]{1,9})(?:bar|\u0304)", re.IGNORECASE)
"""A conjugate SU(3) representation written ``3bar`` or ``3̄`` (a combining macron)."""


def _number_token(tok: str, sign: int, where: str) -> Fraction:
    """A number written as one token: a decimal (``0.5`` → 1/2, exactly), or an integer or
    fraction from a list of tokens that was not split.  The caller applies ``sign``."""
    if sign < 0 and tok[:1] in "+-":
        raise TokenError(f"{where}: two signs in '- {tok}'; write one")
    value = number_from_text(tok)
    if value is not None:
        return value
    if _NUMBER_TEXT.fullmatch(tok):
        if "/" in tok and set(tok.partition("/")[2]) == {"0"}:
            raise TokenError(f"{where}: division by zero in {tok}")
        raise TokenError(f"{where}: {tok[:20]}… has more than {MAX_DIGITS} digits")
    if _NON_FINITE.fullmatch(tok):
        raise TokenError(
            f"{where}: {tok!r} is not a finite number; write a fraction like 1/2 or a decimal "
            "like 0.5"
        )
    if m := _BAR.fullmatch(tok):
        raise TokenError(
            f"{where}: {tok!r}: only SU3 has conjugate representations written with 'bar' "
            f"(SU(2) representations are their own conjugates); write {m.group(1)}"
        )
    raise TokenError(
        f"{where}: expected a number, got {tok!r} (write 1, -1/3 or 0.5)"
        if sign > 0
        else f"{where}: expected digits after '-', got {tok!r} (write - 1/3 or -0.5)"
    )


def _su3_bar(tok: str, where: str) -> Fraction | None:
    """The signed dimension of ``3bar``/``6bar`` (−3, −6); None if ``tok`` has no bar."""
    m = _BAR.fullmatch(tok)
    if m is None:
        return None
    n = int(m.group(1))
    if n in (1, 8):
        raise TokenError(f"{where}: the {n} of SU(3) is its own conjugate; write SU3 {n}")
    return Fraction(-n)


def parse_field_tokens(
    toks: list[str],
    pos: int,
    index: int,
    allow_dagger: bool = False,
    what: str = "field",
    symmetries: dict[str, Symmetry] | None = None,
) -> tuple[Field, bool, int]:
    """Parse one ``FIELD …`` block starting at ``toks[pos] == 'FIELD'``.

    Returns (field, conjugated, next position).  With ``allow_dagger`` a trailing ``DAGGER``
    marks a conjugated field written with conjugate quantum numbers (output grammar); the
    returned field is then the unconjugated one.  Errors name ``f"{what} {index + 1}"``
    (``"object 2"`` inside a term).  With ``symmetries`` (the declared extra symmetries by
    name, input strings only) the extension tokens ``REAL``, ``GEN n`` and ``CHARGE name q``
    may follow the BART-L ones (see :func:`parse_fields`).
    """
    where = f"{what} {index + 1}"
    if toks[pos] != "FIELD":
        raise TokenError(f"{where}: expected 'FIELD', got {toks[pos]!r}")
    pos += 1
    values: dict[str, object] = {}
    order = ["SPIN", "SU3", "SU2", "U1", "HEL"]
    last = -1
    while pos < len(toks) and toks[pos] in order:
        key = toks[pos]
        k = order.index(key)
        if k <= last:
            raise TokenError(
                f"{where}: {key} is repeated or out of order (order is SPIN, SU3, SU2, U1, HEL)"
            )
        last = k
        bar = (
            _su3_bar(toks[pos + 1], f"{where}, SU3")
            if key == "SU3" and pos + 1 < len(toks)
            else None
        )
        if bar is not None:
            value, pos = bar, pos + 2
        else:
            value, pos = _read_number(toks, pos + 1, f"{where}, {key}")
        values[key] = value
    if "SPIN" not in values:
        raise TokenError(f"{where}: missing SPIN")
    options: dict[str, object] = {}
    if symmetries is not None:
        pos = _read_extensions(toks, pos, where, symmetries, options)
    conj = False
    if allow_dagger and pos < len(toks) and toks[pos] == "DAGGER":
        conj, pos = True, pos + 1
    su3 = values.get("SU3", Fraction(1))
    su2 = values.get("SU2", Fraction(1))
    for key, val in (("SU3", su3), ("SU2", su2)):
        if val.denominator != 1:
            raise TokenError(f"{where}: {key} representation must be an integer, got {val}")
    try:
        f = Field(
            spin=values["SPIN"],
            su3=int(su3),
            su2=int(su2),
            y=values.get("U1", Fraction(0)),
            helicity=values.get("HEL"),
            **options,  # type: ignore[arg-type]
        )
    except FieldError as exc:
        raise FieldError(f"{where}: {str(exc).removeprefix('field: ')}") from None
    if f.su3 != 1 and su3 == 1:
        raise TokenError(f"{where}: SU3 1 must be omitted")
    if conj:
        f = f.conjugate()
    return f, conj, pos


def parse_fields(text: str | Iterable[str]) -> tuple[Field, ...]:
    """Parse a BART-L input string ``[SOS] FIELD SPIN 0 SU2 2 U1 1 … [EOS]`` into fields.

    ``[SOS]``/``[EOS]`` are optional.  Raises :class:`TokenError` or :class:`FieldError`
    naming the field and the fault.
    """
    toks = split_tokens(text) if isinstance(text, str) else list(text)
    if toks and toks[0] == "[SOS]":
        toks = toks[1:]
    if toks and toks[-1] == "[EOS]":
        toks = toks[:-1]
    if not toks:
        raise TokenError("empty field list: expected 'FIELD SPIN …'")
    symmetries: dict[str, Symmetry] = {}
    pos = _read_declarations(toks, symmetries)
    fields: list[Field] = []
    if pos == len(toks):
        raise TokenError("no FIELD after the SYMMETRY declarations")
    while pos < len(toks):
        if toks[pos] != "FIELD":
            where = f"after field {len(fields)}" if fields else "at the start"
            hint = {
                "DAGGER": " (a conjugated field is not an input)",
                "bar": " (write SU3 3bar as one word, or SU3 -3)",
            }.get(toks[pos], "")
            raise TokenError(f"stray token {toks[pos]!r} {where}{hint}; expected 'FIELD'")
        f, _, pos = parse_field_tokens(toks, pos, len(fields), symmetries=symmetries)
        fields.append(f)
    return tuple(fields)


def _read_declarations(toks: list[str], out: dict[str, Symmetry]) -> int:
    """Read ``SYMMETRY name GAUGED|GLOBAL|Z n`` declarations at the start; return the position
    after them."""
    pos = 0
    while pos < len(toks) and toks[pos] == "SYMMETRY":
        where = f"declaration {len(out) + 1}"
        if pos + 2 >= len(toks):
            raise TokenError(f"{where}: write SYMMETRY <name> GAUGED, GLOBAL or Z <N>")
        name, kind = toks[pos + 1], toks[pos + 2]
        if name in out:
            raise TokenError(f"{where}: symmetry {name!r} is declared twice")
        if kind in ("GAUGED", "GLOBAL"):
            sym, pos = Symmetry(name, kind.lower()), pos + 3
        elif kind == "Z":
            n, pos = _read_number(toks, pos + 3, f"{where}, Z")
            if n.denominator != 1:
                raise TokenError(f"{where}: Z needs an integer order, got {n}")
            sym = Symmetry(name, "Z", int(n))
        else:
            raise TokenError(f"{where}: {kind!r} is not GAUGED, GLOBAL or Z <N>")
        out[name] = sym
    return pos


def _read_extensions(
    toks: list[str], pos: int, where: str, symmetries: dict[str, Symmetry], out: dict
) -> int:
    """Read ``REAL``, ``GEN n`` and ``CHARGE name q`` (in this order, charges repeated) after
    a field's BART-L tokens into ``out`` (Field keyword arguments)."""
    if pos < len(toks) and toks[pos] == "REAL":
        out["real"], pos = True, pos + 1
    if pos < len(toks) and toks[pos] == "GEN":
        n, pos = _read_number(toks, pos + 1, f"{where}, GEN")
        if n.denominator != 1:
            raise TokenError(f"{where}: GEN needs an integer, got {n}")
        out["generations"] = int(n)
    charges: dict[Symmetry, Fraction] = {}
    while pos < len(toks) and toks[pos] == "CHARGE":
        if pos + 1 >= len(toks):
            raise TokenError(f"{where}: CHARGE needs a symmetry name and a charge")
        name = toks[pos + 1]
        fix = f"declare it first: SYMMETRY {name} Z 2 (or GAUGED, GLOBAL)"
        sym = declared_symmetry(symmetries, name, where, fix, TokenError)
        q, pos = _read_number(toks, pos + 2, f"{where}, CHARGE {name}")
        charges[sym] = q
    if charges:
        out["charges"] = charges
    if pos < len(toks) and toks[pos] in ("REAL", "GEN", "CHARGE"):
        raise TokenError(f"{where}: {toks[pos]} is out of order (order is REAL, GEN, CHARGE)")
    return pos


def fields_tokens(fields: Sequence[Field], specials: bool = True) -> str:
    """The BART-L input string of a field list; fields BART-L cannot write (real,
    generations, extra charges) add the :data:`EXTENSION_TOKENS` after their own."""
    syms = sorted({s for f in fields for s, _ in f.charges})
    decl = []
    for s in syms:
        tail = ["Z", *number_tokens(Fraction(s.order))] if s.is_discrete else [s.kind.upper()]
        decl += ["SYMMETRY", s.name, *tail]
    body = " ".join([*decl, *(" ".join(f.tokens() + f.extension_tokens()) for f in fields)])
    return f"[SOS] {body} [EOS]" if specials else body
