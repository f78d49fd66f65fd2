"""The text of a standalone feynlag model file for a Lagrangian (``lagnb export --to feynlag``).

`feynlag <https://pypi.org/project/feynlag/>`_ (pure SymPy) checks gauge invariance and
hermiticity of component expressions, breaks symmetries, derives Feynman rules and writes UFO
folders.  :func:`feynlag_source` writes a Python file that declares, for a lagnb Lagrangian:

* the gauge groups SU3c, SU2L, U1Y under which some field is charged, with couplings gs, gw, g1;
* every field as a feynlag ``Scalar`` or ``WeylFermion``, the hypercharge halved (feynlag uses
  Q = T3 + Y, lagnb Q = T3 + Y/2);
* every coupling as real ``ExternalParameter``\\ s (a complex one as the pair ``c_re``, ``c_im``)
  with a placeholder value;
* every term in components (:mod:`lagnb.physics.symbolic`), kinetic terms as feynlag covariant
  derivatives (``Dmu`` for scalars, ``fermion_gauge_current`` for fermions; feynlag derives the
  gauge self-couplings from the groups, so −¼ F F is not written), the scalar potential in the
  ``potential`` sector (feynlag stores −V there), Yukawas and fermion masses in ``yukawa``;
* ``TERMS``: one (lagnb term number, sector, expression) per term, for term-by-term checks;
* a vacuum stub (commented ``expand_vev`` lines for the neutral components) to fill in.

Conventions of the translation:

* two-component products become four-component bilinears: ψ_L χ_R† → ``Bilinear(χbar, PL, ψ)``
  (and its h.c. ``Bilinear(ψbar, PR, χ)``); two left-handed fields or two right-handed ones
  give a ``MajoranaBilinear(ψ, C·P, χ)``, which feynlag's UFO writer cannot export (the file
  warns about each such term);
* an SU(2) triplet is declared in feynlag's adjoint (Cartesian) basis X_1, X_2, X_3, and
  lagnb's weight components are written in it: φ₁ = (−X₁ + iX₂)/√2, φ₂ = X₃,
  φ₃ = (X₁ + iX₂)/√2 (from T = Σ_k X_k σ^k iσ²/√2); doublets and quadruplets are declared in
  lagnb's weight basis, which is feynlag's Gelfand–Tsetlin basis;
* a real scalar is ``fl.Scalar(..., real=True)`` with real components (a real triplet's X_k
  real, so φ₃ = −φ₁* as in :mod:`lagnb.physics.symbolic`), its kinetic term
  ½ (D_μ S)†(D^μ S) with the term's prefactor;
* a field charged under a gauged U(1)′ is refused (:func:`check_exportable`).

Pure: :func:`feynlag_source` returns text, and this module never imports feynlag; writing the
file and running it are the edge, :mod:`lagnb.apps.export` (``write_feynlag``,
``feynlag_namespace``).  feynlag is needed only to run the file, not to write it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp
from sympy.printing.str import StrPrinter

from lagnb.errors import LagnbError
from lagnb.physics.symbolic import (
    ComponentField,
    Coupling,
    WeylPair,
    component_fields,
    couplings,
    field_label,
    term_expression,
)
from lagnb.physics.terms import Lagrangian, charged_groups

GROUPS = (
    ("SU3", "SU3c", "fl.SU3", "gs", 1.2177),
    ("SU2", "SU2L", "fl.SU2", "gw", 0.6535),
    ("U1", "U1Y", "fl.U1", "g1", 0.3580),
)
"""(lagnb group, feynlag name, feynlag class, coupling name, coupling value)."""

PLACEHOLDER = {"y": 0.1, "lambda": -0.1, "mu": 100.0, "M": 100.0, "m2": -10000.0}
"""Placeholder values of couplings by kind, to be replaced by the user.  lagnb writes
ℒ ⊃ +m2 φ†φ + λ (φ†φ)², so m2 < 0 is a positive mass² and λ < 0 a potential bounded below."""

TRIPLET_BASIS = "phi1 = (-X1 + I*X2)/sqrt(2), phi2 = X3, phi3 = (X1 + I*X2)/sqrt(2)"


def triplet_weights(xs: Sequence[sp.Expr]) -> list[sp.Expr]:
    """lagnb's triplet weight components φ₁, φ₂, φ₃ in feynlag's Cartesian components X₁, X₂,
    X₃: T = Σ_k X_k σ^k iσ²/√2 gives T₁₁ = (−X₁ + iX₂)/√2, √2 T₁₂ = X₃, T₂₂ = (X₁ + iX₂)/√2."""
    x1, x2, x3 = xs
    return [(-x1 + sp.I * x2) / sp.sqrt(2), x3, (x1 + sp.I * x2) / sp.sqrt(2)]


def _reps(comp: ComponentField) -> str:
    """The feynlag ``reps`` dict of a field, the hypercharge halved (Q = T3 + Y)."""
    f = comp.field
    reps = []
    if f.su3 != 1:
        reps.append(f"SU3c: {f.su3}")
    if f.su2 != 1:
        reps.append(f"SU2L: {f.su2}")
    if f.y != 0:
        half = f.y / 2
        reps.append(f"U1Y: Rational({half.numerator}, {half.denominator})")
    return "{" + ", ".join(reps) + "}"


def declared_names(comp: ComponentField) -> list[str]:
    """feynlag component names: lagnb's, or ``<base>…_x1, _x2, _x3`` for a triplet (feynlag's
    Cartesian adjoint basis, colour index first as in lagnb)."""
    if comp.field.su2 != 3:
        return [s.name for s in comp.components]
    if comp.field.real:  # φ₃ = −φ₁* is no symbol of its own, but X₃ is a component
        return [f"{comp.base}_x{w}" for w in (1, 2, 3)]
    return [s.name[:-1] + f"x{w}" for (_, w), s in comp.symbols.items()]


def _triplet_map(comp: ComponentField, suffix: str = "") -> dict[sp.Symbol, sp.Expr]:
    """lagnb's weight components of a triplet → expressions in the declared Cartesian ones
    (``suffix`` ``"bar"`` gives the Dirac adjoints, with conjugate coefficients)."""
    names = declared_names(comp)
    out = {}
    for k in range(0, len(names), 3):
        xs = [sp.Symbol(n + suffix) for n in names[k : k + 3]]
        weights = triplet_weights(xs)
        for s, wexpr in zip(comp.components[k : k + 3], weights):
            out[s] = (
                sp.conjugate(wexpr).xreplace({sp.conjugate(x): x for x in xs}) if suffix else wexpr
            )
    return out


class _FeynlagPrinter(StrPrinter):
    """Prints lagnb component expressions as feynlag source: couplings as parameter symbols
    (``name.s``), Weyl pairs as Dirac or Majorana bilinears with the flavour index ``i``."""

    def __init__(self, comps: Sequence[ComponentField], parameters: set[str]) -> None:
        super().__init__()
        self.fermion: dict[sp.Symbol, ComponentField] = {
            s: c for c in comps if c.field.is_fermion for s in c.components
        }
        self.parameters = parameters
        self.majorana = False

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return f"{expr.name}.s" if expr.name in self.parameters else expr.name

    def _legs(self, x: sp.Expr, bar: bool) -> list[tuple[sp.Expr, str]]:
        """The four-component legs of a Weyl spinor component (conjugation stripped) as
        (coefficient, leg): one leg, or a triplet's weight state in Cartesian legs."""
        sym = x.args[0] if isinstance(x, sp.conjugate) else x
        comp = self.fermion[sym]
        suffix = "bar" if bar else ""
        if comp.field.su2 != 3:
            return [(sp.S.One, f"{sym.name}{suffix}[i]")]
        combo = sp.expand(_triplet_map(comp, suffix)[sym])
        legs = sorted(combo.free_symbols, key=str)
        return [(combo.coeff(leg), f"{leg.name}[i]") for leg in legs if combo.coeff(leg) != 0]

    def _bilinear(
        self, head: str, a: sp.Expr, bar: bool, gamma: str, b: sp.Expr, conj: bool
    ) -> str:
        """``head(leg_a, gamma, leg_b)`` summed over the legs of a and b (conjugated whole if
        ``conj``), each bilinear with single-component legs, as feynlag's conjugation needs."""
        terms = []
        for ca, la in self._legs(a, bar):
            for cb, lb in self._legs(b, False):
                coeff, text = ca * cb, f"{head}({la}, {gamma}, {lb})"
                if conj:
                    coeff, text = sp.conjugate(coeff), f"conjugate({text})"
                terms.append(text if coeff == 1 else f"({StrPrinter().doprint(coeff)})*{text}")
        return terms[0] if len(terms) == 1 else "(" + " + ".join(terms) + ")"

    def _left(self, x: sp.Expr) -> bool:
        sym = x.args[0] if isinstance(x, sp.conjugate) else x
        return self.fermion[sym].field.helicity < 0

    def _print_WeylPair(self, expr: WeylPair) -> str:
        a, b = expr.args
        if self._left(a) != self._left(b):
            # Dirac type: the undotted pair ψ_L χ_R† is χbar PL ψ, the dotted ψ_L† χ_R is ψbar PR χ
            left, right = (a, b) if self._left(a) else (b, a)
            if not isinstance(left, sp.conjugate):
                return self._bilinear("Bilinear", right, True, "diracPL", left, False)
            return self._bilinear("Bilinear", left, True, "diracPR", right, False)
        # Majorana type: ψ1ᵀ C P ψ2 of the two fields; the pair of their conjugates is its h.c.
        self.majorana = True
        projector = "diracC*diracPL" if self._left(a) else "diracC*diracPR"
        conj = isinstance(a, sp.conjugate)
        return self._bilinear("MajoranaBilinear", a, False, projector, b, conj)


DIMENSION = {"y": 0, "lambda": 0, "mu": 1, "M": 1, "m2": 2}
"""Mass dimension of a coupling by kind."""


def _parameters(cs: Sequence[Coupling | None]) -> list[tuple[str, str]]:
    """(name, kind) of every real parameter, in term order."""
    out = []
    for c in cs:
        if c is not None:
            out += [(p.name, c.name.rsplit("_", 1)[0]) for p in c.parts]
    return out


def check_exportable(lag: Lagrangian) -> None:
    """Raise a one-line :class:`LagnbError` naming the first field the feynlag file cannot
    declare: a field charged under a gauged U(1)′ (its covariant derivative and the gauge
    boson's kinetic mixing with B are not written; a gauged U(1)′ enters a Lagrangian only
    through charged fields).  Global U(1) and Z_N charges only restrict which terms exist and
    export as they are; a real scalar is a feynlag ``Scalar(..., real=True)``."""
    for k, f in enumerate(lag.fields, start=1):
        gauged = [s.name for s, _ in f.charges if s.is_gauged]
        if gauged:
            raise LagnbError(
                f"{field_label(k, f)}: charged under the gauged U(1)′ {gauged[0]}, which the "
                "feynlag export does not support (no covariant derivative for it)"
            )


def feynlag_source(lag: Lagrangian, model_name: str = "lagnb_model") -> str:
    """The text of a standalone feynlag model file for ``lag`` (see the module docstring).

    Raises :class:`~lagnb.physics.symbolic.RepresentationError` for a field whose components
    are not written (SU(3) 6, 6̄, 8; several generations), and :class:`LagnbError` for a field
    the file cannot declare (see :func:`check_exportable`).
    """
    comps = component_fields(lag)
    check_exportable(lag)
    cs = couplings(lag)
    params = _parameters(cs)
    used = {g for c in comps for g in charged_groups(c.field)}
    groups = [(name, g) for lagnb_group, name, _, g, _ in GROUPS if lagnb_group in used]
    terms, warnings = _terms_section(lag, comps, cs, {n for n, _ in params})
    out = [
        *_header(lag),
        *_groups_section(used),
        *_fields_section(lag, comps),
        *_couplings_section(params),
        *terms,
        "",
        "# -- the Lagrangian and the model",
        "lagrangian = fl.Lagrangian()",
        "for number, sector, expr in TERMS:",
        '    lagrangian.add(expr, sector=sector, name=f"lagnb term {number}")',
        "",
        f"gauge_groups = [{', '.join(name for name, _ in groups)}]",
        f"fields = [{', '.join('f_' + c.base for c in comps)}]"
        + "".join(f" + [{name}.bosons()]" for name, _ in groups),
        f"parameters = [{', '.join([*(g for _, g in groups), *(n for n, _ in params)])}]",
        f"model = fl.Model({model_name!r}, gauge_groups=gauge_groups, fields=fields,",
        "                  parameters=parameters, lagrangian=lagrangian)",
        "",
        "UFO_WARNINGS = [",
        *(f"    {w!r}," for w in warnings),
        "]",
        "for _warning in UFO_WARNINGS:",
        "    warnings.warn(_warning, stacklevel=1)",
        "",
        *_vacuum_section(comps),
    ]
    return "\n".join(out) + "\n"


def _header(lag: Lagrangian) -> list[str]:
    return [
        f'"""feynlag model written by lagnb for {len(lag.fields)} fields, {len(lag.terms)} terms.',
        "",
        "Conventions: feynlag hypercharge Q = T3 + Y (half of lagnb's Y); coupling values are",
        "placeholders; SU(2) triplets are declared in feynlag's Cartesian basis, with lagnb's",
        f"weight components {TRIPLET_BASIS}.",
        '"""',
        "",
        "import warnings",
        "",
        "import sympy as sp",
        "from sympy import I, Rational, conjugate, sqrt",
        "",
        "import feynlag as fl",
        "from feynlag import Bilinear, MajoranaBilinear, diracC, diracPL, diracPR",
        "",
        'i = sp.Symbol("i", integer=True)',
        '"""The flavour index of the fermion legs (one flavour per field)."""',
        "",
    ]


def _groups_section(used: set[str]) -> list[str]:
    out = ["# -- gauge groups"]
    for lagnb_group, name, cls, g, value in GROUPS:
        if lagnb_group in used:
            out.append(f'{g} = fl.ExternalParameter("{g}", {value}, positive=True)')
            out.append(f'{name} = {cls}("{name}", coupling={g})')
    return [*out, ""]


def _fields_section(lag: Lagrangian, comps: Sequence[ComponentField]) -> list[str]:
    out = ["# -- fields"]
    for comp, display in zip(comps, lag.names):
        f = comp.field
        names = declared_names(comp)
        cls = "fl.Scalar" if f.is_scalar else "fl.WeylFermion"
        chirality = "" if f.is_scalar else f', chirality="{"L" if f.helicity < 0 else "R"}"'
        extra = ", real=True" if f.real else "" if f.is_scalar else ", nflavors=1"
        out.append(f"# {display}: lagnb {f.describe()}")
        out.append(f'f_{comp.base} = {cls}("{comp.base}", reps={_reps(comp)}{chirality}{extra},')
        out.append(f"    component_names={names!r})")
        out.append(f"{', '.join(names)}, = f_{comp.base}.components")
        if f.is_fermion:
            out.append(f"{', '.join(n + 'bar' for n in names)}, = f_{comp.base}.bar_components")
        elif f.su2 == 3:
            out += [f"{s.name} = {StrPrinter().doprint(e)}" for s, e in _triplet_map(comp).items()]
    return [*out, ""]


def _couplings_section(params: Sequence[tuple[str, str]]) -> list[str]:
    out = [
        "# -- couplings (real parameters; a complex coupling c = c_re + I*c_im); placeholder",
        "# values: L contains +m2 |phi|^2 + lambda |phi|^4, so m2 < 0 and lambda < 0 are physical",
    ]
    for name, kind in params:
        value = 0.0 if name.endswith("_im") else PLACEHOLDER[kind]
        out.append(f'{name} = fl.ExternalParameter("{name}", {value}, unit_dim={DIMENSION[kind]})')
    return [*out, ""]


def _terms_section(
    lag: Lagrangian,
    comps: Sequence[ComponentField],
    cs: Sequence[Coupling | None],
    parameters: set[str],
) -> tuple[list[str], list[str]]:
    """``TERMS = [(number, sector, expression), …]`` and the UFO warnings."""
    printer = _FeynlagPrinter(comps, parameters)
    out = ["# -- terms: (lagnb term number, sector, expression)", "TERMS = ["]
    warnings: list[str] = []
    for number, (t, c) in enumerate(zip(lag.terms, cs), start=1):
        if t.kind == "gauge_kinetic":
            out.append(f"    # {number}: {t.kind}: from the gauge group (feynlag's Yang–Mills)")
            continue
        if t.kind == "kinetic":
            comp = comps[t.field_factors[0].field]
            if comp.field.is_scalar:
                expr = f"(fl.dag(fl.Dmu(f_{comp.base})) * fl.Dmu(f_{comp.base}))[0]"
                if t.prefactor != 1:  # ½ (D_μ S)(D^μ S) of a real scalar
                    p = t.prefactor
                    expr = f"Rational({p.numerator}, {p.denominator}) * {expr}"
                out.append(f'    ({number}, "kinetic", {expr}),')
            elif charged_groups(comp.field):
                out.append(f'    ({number}, "gauge", fl.fermion_gauge_current(f_{comp.base}, i)),')
            else:
                out.append(f"    # {number}: kinetic term of a gauge-singlet fermion (no current)")
            continue
        printer.majorana = False
        expr = printer.doprint(term_expression(t, c, comps))
        scalar = all(lag.fields[f.field].is_scalar for f in t.field_factors)
        out.append(f"    # {number}: {t.kind} {t.latex(lag.fields, lag.names)}")
        out.append(f'    ({number}, "{"potential" if scalar else "yukawa"}", {expr}),')
        if printer.majorana:
            warnings.append(
                f"term {number} ({t.kind}) pairs two spinors of one helicity (Majorana type): "
                "feynlag's UFO writer cannot export it"
            )
    return [*out, "]"], warnings


def _vacuum_section(comps: Sequence[ComponentField]) -> list[str]:
    """Commented ``expand_vev`` lines for the neutral colour-singlet scalar components."""
    out = ["# -- vacuum: give the neutral components a vev, e.g."]
    for comp in comps:
        if not comp.field.is_scalar:
            continue
        for (colour, w), s in comp.symbols.items():
            if colour or comp.charge(w) != 0:
                continue
            if comp.field.su2 == 3 and comp.field.real:  # the neutral X₃ is a component
                x3 = declared_names(comp)[2]
                out.append(f'# v_{x3} = fl.ExternalParameter("v_{x3}", 1.0, unit_dim=1)')
                out.append(f"# f_{comp.base}.expand_vev({{{x3}: v_{x3}}})")
            elif comp.field.su2 == 3:
                combo = StrPrinter().doprint(_triplet_map(comp)[s])
                out.append(f"# {s.name} = {combo} is neutral: rotate to it before expanding a vev")
            else:
                out.append(f'# v_{s.name} = fl.ExternalParameter("v_{s.name}", 246.0, unit_dim=1)')
                out.append(f"# f_{comp.base}.expand_vev({{{s.name}: v_{s.name}}})")
    return out
