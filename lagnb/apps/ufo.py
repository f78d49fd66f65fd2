"""From a Lagrangian to a UFO folder, through feynlag (``pip install lagnb[feynlag]``).

    from lagnb import lagrangian
    from lagnb.apps.ufo import write_ufo
    write_ufo(lagrangian(fields), "MyModel_UFO", vevs={"H": 246.0})

The steps, each done by feynlag on the model of :mod:`lagnb.physics.feynlag_source`:

1. the vacuum: one SU(2) doublet (colour singlet, Y = ±1) gets the vev v on its neutral
   component, φ⁰ = (v + h + i G⁰)/√2, and the tadpole condition fixes its mass coupling m2_k;
2. the physical basis: W³, B → Z, A and W¹, W² → W⁺, W⁻; unitary gauge (the doublet's
   Goldstones are set to zero);
3. the spectrum: h, Z, W and every other scalar component take their masses from the quadratic
   terms (a mass matrix that mixes components, or a φφ mass of a complex scalar, is refused:
   it needs a rotation that is not automated); a left-handed and a right-handed fermion
   component joined by a mass term form one Dirac particle, the others are massless; a Yukawa
   that gives a fermion its mass is taken real (its ``_im`` part set to 0: with one generation
   its phase is unphysical), and the right-handed part is rephased so that ℒ ⊃ −m ψ̄ψ with
   m > 0 (the couplings of that field carry the phase);
4. the vertices: scalar and gauge vertices, fermion–fermion–boson vertices, and the electroweak
   gauge self-couplings, written by feynlag's UFO writer, then loaded back and evaluated by
   feynlag's numeric check (:func:`feynlag.verify_ufo_numeric`), which must pass.

What feynlag's UFO writer cannot express is left out with a warning naming it: vertices with a
coloured scalar (its bosonic vertices are colour-singlet only), Majorana-type fermion vertices.
Coloured fermions are refused (their QCD vertices are not automated here).
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy as sp

from lagnb.apps.export import feynlag_namespace, require_feynlag
from lagnb.errors import LagnbError
from lagnb.physics.symbolic import ComponentField, component_fields, couplings
from lagnb.physics.terms import Lagrangian


class UFOError(LagnbError):
    """A model the UFO route does not handle (the message says what and why)."""


@dataclass(frozen=True)
class UFOExport:
    """What :func:`write_ufo` wrote: the folder, the particles (UFO name → PDG code), the mass
    expressions (UFO name → SymPy expression in the couplings and v), the number of vertices,
    the warnings about what was left out, and feynlag's numeric check report."""

    path: Path
    particles: dict[str, int]
    masses: dict[str, sp.Expr]
    vertices: int
    left_out: tuple[str, ...]
    check: object = field(repr=False)


def _vev_field(lag: Lagrangian, comps: list[ComponentField], vevs: Mapping[str, float]) -> int:
    if len(vevs) != 1:
        raise UFOError(
            f"vevs: give exactly one field, got {len(vevs)} (several vevs need a scalar "
            "mass-matrix rotation, which the UFO route does not automate)"
        )
    (name,) = vevs
    if name not in lag.names:
        raise UFOError(f"vevs: no field named {name!r}; the fields are {', '.join(lag.names)}")
    k = lag.names.index(name)
    f = comps[k].field
    if not (f.is_scalar and f.su3 == 1 and f.su2 == 2 and abs(f.y) == 1):
        raise UFOError(
            f"vevs: {name!r} is a {f.describe()}; the UFO route breaks the electroweak symmetry "
            "with one colour-singlet SU(2) doublet of hypercharge ±1"
        )
    return k


def _mass_coupling(lag: Lagrangian, k: int) -> str:
    """The name of the real coupling of φ_k† φ_k (the m2 the tadpole condition fixes)."""
    for t, c in zip(lag.terms, couplings(lag)):
        if t.kind == "mass" and c is not None and t.monomial == ((k, False), (k, True)):
            return c.name
    raise UFOError(f"field {lag.names[k]!r} has no mass term")  # pragma: no cover


def _atomic_dir(write, path: Path) -> None:
    """Run ``write(tmp)`` into a temporary folder next to ``path``, then move it into place."""
    if not path.parent.is_dir():
        raise UFOError(f"{path.parent}: no such folder")
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    try:
        write(tmp / "ufo")
        if path.exists():
            shutil.rmtree(path)
        (tmp / "ufo").rename(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_ufo(
    lag: Lagrangian,
    path: str | Path,
    vevs: Mapping[str, float],
    values: Mapping[str, float] | None = None,
    model_name: str = "lagnb_model",
) -> UFOExport:
    """Write a UFO folder for ``lag`` broken by ``vevs`` (field name → v in GeV) and check it
    with feynlag's numeric check; see the module docstring for the steps and what is left out.

    ``values`` overrides the placeholder values of real parameters by name (``lambda_1``,
    ``y_1_re``, ``gw``, …).  Raises :class:`UFOError` for a model outside the route.
    """
    require_feynlag()
    import feynlag as fl
    from feynlag.export.ufo.writer import write_ufo as fl_write_ufo

    comps = component_fields(lag)
    real = [n for n, c in zip(lag.names, comps) if c.field.real]
    if real:
        raise UFOError(
            f"field {real[0]!r} is a real scalar: the UFO route writes complex scalars only "
            "(lagnb export --to feynlag writes it)"
        )
    k = _vev_field(lag, comps, vevs)
    coloured = [n for n, c in zip(lag.names, comps) if c.field.is_fermion and c.field.su3 != 1]
    if coloured:
        raise UFOError(
            f"coloured fermions ({', '.join(coloured)}): their QCD vertices are not automated "
            "in the UFO route"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ns = feynlag_namespace(lag, model_name)
    b = _Build(lag, comps, ns, [str(w.message) for w in caught])
    for name, value in (values or {}).items():
        if name not in b.params:
            raise UFOError(
                f"values: no parameter {name!r}; the parameters are {', '.join(b.params)}"
            )
        b.params[name].value = float(value)
    b.vacuum(k, float(next(iter(vevs.values()))))
    b.physical_basis()
    b.scalar_particles()
    b.fermion_particles()
    bosonic, fermionic = b.vertices()
    gauge = b.model.gauge_vertices(groups=[b.groups["SU2L"]])
    vvv = {v.particles: v.coupling for v in gauge if v.vertex_type == "VVV"}
    vvvv = {v.particles: v.structures for v in gauge if v.vertex_type == "VVVV"}
    target = Path(path)
    _atomic_dir(
        lambda tmp: fl_write_ufo(
            tmp,
            model_name,
            fl.ParameterSet(*b.ufo_params),
            b.particles,
            bosonic_vertices=bosonic,
            vvv=vvv,
            vvvv=vvvv,
            fermion_vertices=fermionic,
        ),
        target,
    )
    report = fl.verify_ufo_numeric(target)
    if not report.ok:
        raise UFOError(f"feynlag's numeric check of {target} failed: {report.failures}")
    for message in b.left_out:
        warnings.warn(message, stacklevel=2)
    return UFOExport(
        target,
        {p.name: p.pdg for p in b.particles},
        {n: sp.simplify(m) for n, m in b.masses.items()},
        len(bosonic) + len(fermionic) + len(vvv) + len(vvvv),
        tuple(b.left_out),
        report,
    )


class _Build:
    """The state of one UFO build, step by step (see :func:`write_ufo`)."""

    def __init__(
        self, lag: Lagrangian, comps: list[ComponentField], ns: dict[str, Any], left_out: list[str]
    ) -> None:
        self.lag, self.comps, self.ns, self.left_out = lag, comps, ns, left_out
        self.model = ns["model"]
        self.params = {p.name: p for p in self.model.parameters}
        self.groups = {g.name: g for g in self.model.gauge_groups}
        self.particles: list[Any] = []
        self.masses: dict[str, sp.Expr] = {}
        self.pdg = 9000001
        self.phase: dict[sp.Symbol, sp.Expr] = {}
        self.anti: dict[sp.Symbol, sp.Symbol] = {}
        self.particle_of: dict[object, sp.Symbol] = {}
        self.zero_im: dict[sp.Symbol, int] = {}

    # 1. the vacuum and the tadpole
    def vacuum(self, k: int, v: float) -> None:
        import feynlag as fl

        vev = fl.ExternalParameter("v", v, positive=True, unit_dim=1)
        self.doublet = doublet = self.comps[k]
        neutral = next(s for (_, w), s in doublet.symbols.items() if doublet.charge(w) == 0)
        self.goldstone_pm = next(s for s in doublet.components if s != neutral)
        self.ns[f"f_{doublet.base}"].expand_vev({neutral: vev})
        _, self.h, self.g0 = self.ns[f"f_{doublet.base}"].vev_expansions[neutral]
        m2 = self.params[_mass_coupling(self.lag, k)]
        # ∂V/∂h = 0 with every other field at zero (feynlag's own solver keeps the fields
        # without a vev as parameters)
        rest = [
            x for c in self.comps if c.field.is_scalar and c is not doublet for x in c.components
        ]
        rest += [self.goldstone_pm, self.g0]
        at_vacuum = {**dict.fromkeys(rest, 0), **{sp.conjugate(x): 0 for x in rest}, self.h: 0}
        tadpole = sp.diff(self.model.vacuum.shift(self.model.potential), self.h)
        self.solution = {m2.s: sp.solve(tadpole.xreplace(at_vacuum), m2.s)[0]}
        self.ufo_params = [p for p in self.model.parameters if p is not m2] + [vev]

    # 2. the physical basis in unitary gauge, coloured scalars set aside
    def physical_basis(self) -> None:
        import feynlag as fl
        from feynlag.models import charged_current_rotation, weinberg_rotation
        from feynlag.operators import PartialMu, to_momentum_space
        from feynlag.vertices.extract import extract_interaction_coefficients

        g = self.groups
        self.Z, self.A = weinberg_rotation(self.model, g["SU2L"], g["U1Y"])
        self.Wp, self.Wm = charged_current_rotation(self.model, g["SU2L"])
        L = sp.expand(self.model.physical_lagrangian().xreplace(self.solution))
        gluons = g["SU3c"].bosons().components if "SU3c" in g else []
        vectors = [self.Z, self.A, self.Wp, self.Wm]
        zero = [self.g0, self.goldstone_pm, *gluons]
        self.coloured: list[tuple[ComponentField, sp.Symbol, sp.Expr]] = []
        for c in self.comps:
            if c.field.is_scalar and c.field.su3 != 1:
                others = [
                    *L.atoms(PartialMu, fl.Bilinear, fl.MajoranaBilinear),
                    self.h,
                    *vectors,
                    *zero,
                    *(
                        x
                        for d in self.comps
                        if d is not c and d.field.is_scalar
                        for x in d.components
                    ),
                ]
                self.coloured += _coloured_masses(L, c, others)
                zero += c.components
                name = self.lag.names[self.comps.index(c)]
                self.left_out.append(
                    f"{name}: vertices with a coloured scalar (feynlag's UFO writer has "
                    "colour-singlet scalar vertices only)"
                )
        zero_map = dict.fromkeys(zero, 0) | {sp.conjugate(s): 0 for s in zero if not s.is_real}
        L = sp.expand(L.xreplace(zero_map).xreplace({PartialMu(s): 0 for s in zero_map}))
        # complex scalar components without a vev, each with a conjugate partner symbol
        self.scalars = [self.h]
        self.cmap: dict[sp.Expr, sp.Symbol] = {}
        self.charges: dict[sp.Symbol, object] = {}
        for c in self.comps:
            if c.field.is_scalar and c.field.su3 == 1 and c is not self.doublet:
                for (_, w), s in c.symbols.items():
                    bar = sp.Symbol(f"{s.name}_bar")
                    self.cmap[sp.conjugate(s)] = bar
                    self.scalars += [s, bar]
                    self.charges[s] = c.charge(w)
        self.bosons = [*self.scalars, *vectors]
        if L.has(PartialMu):
            L = to_momentum_space(L, [*self.bosons, *self.cmap])
        L = sp.expand(L.xreplace(self.cmap))
        terms = sp.Add.make_args(L)
        self.fermionic = sp.Add(*(t for t in terms if t.has(fl.Bilinear)))
        majorana = sp.Add(*(t for t in terms if t.has(fl.MajoranaBilinear)))
        if majorana != 0:
            self.left_out.append(
                "Majorana-type fermion vertices (feynlag's UFO writer cannot export them)"
            )
        bosonic = sp.expand(L - self.fermionic - majorana)
        self.table = extract_interaction_coefficients(bosonic, self.bosons)

    def _mass_param(self, name: str, m2: sp.Expr) -> str:
        """An internal UFO parameter M<name> = √m² (``ZERO`` for a massless particle)."""
        import feynlag as fl

        m2 = sp.simplify(m2)
        self.masses[name] = m2
        if m2 == 0:
            return "ZERO"
        p = fl.InternalParameter(f"M{_ufo_name(name)}", expr=sp.sqrt(m2), unit_dim=1)
        self.ufo_params.append(p)
        return p.name

    # 3a. scalar and vector particles
    def scalar_particles(self) -> None:
        from feynlag.export.ufo.writer import UFOParticle
        from feynlag.operators import momentum

        quadratic = {
            legs: c.xreplace({m: 0 for m in c.atoms(sp.Function) if m.func == momentum})
            for legs, c in self.table.get(2, {}).items()
        }
        vectors = (self.Z, self.A, self.Wp, self.Wm)
        for (a, b), coeff in quadratic.items():
            if a in vectors or b in vectors or sp.simplify(coeff) == 0:
                continue
            if a == b and a in self.charges:
                raise UFOError(
                    f"a mass term {a}² splits the complex scalar {a} into two real fields of "
                    "different masses, which the UFO route does not automate"
                )
            if a == b:
                continue
            if self.cmap.get(sp.conjugate(a)) != b and self.cmap.get(sp.conjugate(b)) != a:
                raise UFOError(
                    f"the scalar mass matrix mixes {a} and {b}: a rotation to mass eigenstates "
                    "is needed, which the UFO route does not automate"
                )

        def pair(x: sp.Symbol, y: sp.Symbol) -> tuple[sp.Symbol, ...]:
            return tuple(sorted((x, y), key=sp.default_sort_key))

        # ℒ ⊃ −½ m_h² h², +½ M_Z² Z², + M_W² W⁺W⁻, − m² φ φ̄
        h, Z, A, Wp, Wm = self.h, *vectors
        self.particles += [
            UFOParticle(h, 25, "h", mass=self._mass_param("h", -2 * quadratic.get((h, h), 0))),
            UFOParticle(Z, 23, "Z", spin=3, mass=self._mass_param("Z", 2 * quadratic[(Z, Z)])),
            UFOParticle(A, 22, "a", spin=3),
            UFOParticle(
                Wp,
                24,
                "W+",
                "W-",
                spin=3,
                charge=1,
                antisymbol=Wm,
                mass=self._mass_param("W", quadratic[pair(Wp, Wm)]),
            ),
        ]
        for s, q in self.charges.items():
            bar = self.cmap[sp.conjugate(s)]
            m2 = -quadratic.get(pair(s, bar), 0)
            self.particles.append(
                UFOParticle(
                    s,
                    self._next_pdg(),
                    s.name,
                    f"{s.name}~",
                    charge=float(q),
                    antisymbol=bar,
                    mass=self._mass_param(s.name, m2),
                )
            )
        for c, s0, m2 in self.coloured:
            name = s0.name.replace("_c1", "")  # one particle per colour multiplet
            self.particles.append(
                UFOParticle(
                    sp.Symbol(name),
                    self._next_pdg(),
                    name,
                    f"{name}~",
                    color=c.field.su3,
                    charge=float(c.charge(_weight(c, s0))),
                    antisymbol=sp.Symbol(f"{name}~"),
                    mass=self._mass_param(name, m2),
                )
            )

    def _next_pdg(self) -> int:
        self.pdg += 1
        return self.pdg - 1

    # 3b. fermions: Dirac particles from the mass terms, masses made real and positive
    def fermion_particles(self) -> None:
        import feynlag as fl
        from feynlag.export.ufo.writer import UFOParticle

        self.ftable = (
            fl.extract_fermion_vertices(self.fermionic, self.bosons) if self.fermionic != 0 else {}
        )
        where: dict[object, tuple[ComponentField, int]] = {}
        for c in self.comps:
            if c.field.is_fermion:
                f = self.ns[f"f_{c.base}"]
                for (_, w), x, xbar in zip(c.symbols, f.components, f.bar_components):
                    where[x] = where[xbar] = (c, w)
        mass_of: dict[sp.Symbol, sp.Expr] = {}
        for (bar, gamma, fld), by_n in self.ftable.items():
            if 0 not in by_n or gamma.has(fl.DiracGamma) or not gamma.has(fl.diracPL):
                continue
            # c R̄ P_L L (+ c* L̄ P_R R): a Dirac mass m = |c|, the right-handed part
            # rephased by η = −c/|c| so that ℒ ⊃ −m ψ̄ψ
            right, left = fl.bar_partner(bar.base), fld.base
            if left in self.particle_of or right in self.particle_of:
                raise UFOError(f"the fermion mass matrix mixes {left} and {right}: not automated")
            c = by_n[0][()]
            im = {x: 0 for x in c.free_symbols if x.name.endswith("_im")}
            for x in im:
                self.params[x.name].value = 0.0
            self.zero_im |= im
            c = c.xreplace(im)
            sym = sp.Symbol(str(right.label))
            for x in (left, right):
                self.particle_of[x] = self.particle_of[fl.bar_partner(x)] = sym
            self.phase[right] = -c / sp.sqrt(c**2)
            mass_of[sym] = c**2
        for x in where:
            if x not in self.particle_of and not str(x.label).endswith("bar"):
                self.particle_of[x] = self.particle_of[fl.bar_partner(x)] = sp.Symbol(str(x.label))
        codes = {-1: 11, 0: 12}
        for sym in dict.fromkeys(self.particle_of.values()):
            c, w = next(where[x] for x, y in self.particle_of.items() if y == sym)
            q = c.charge(w)
            code = codes.pop(int(q), None) if q.denominator == 1 and c.field.su3 == 1 else None
            self.anti[sym] = sp.Symbol(f"{sym.name}~")
            self.particles.append(
                UFOParticle(
                    sym,
                    code or self._next_pdg(),
                    sym.name,
                    f"{sym.name}~",
                    spin=2,
                    charge=float(q),
                    antisymbol=self.anti[sym],
                    mass=self._mass_param(sym.name, mass_of.get(sym, 0)),
                )
            )

    # 4. vertices
    def vertices(self) -> tuple[list[Any], list[dict[str, Any]]]:
        import feynlag as fl
        from feynlag.vertices.vertex import Vertex, classify_spins

        fix = {**self.solution, **self.zero_im}
        spins = dict.fromkeys(self.scalars, 0) | dict.fromkeys(
            (self.Z, self.A, self.Wp, self.Wm), 1
        )
        bosonic = []
        for n, terms in self.table.items():
            for legs, coeff in terms.items() if n >= 3 else ():
                coeff = sp.simplify(coeff.xreplace(fix))
                if coeff == 0:
                    continue
                kind = classify_spins(legs, spins)
                if kind not in ("SSS", "SSSS", "VSS", "VVS", "VVSS"):
                    self.left_out.append(f"a {kind} vertex {legs}")
                    continue
                bosonic.append(Vertex.from_coefficient(legs, coeff, spin_map=spins))
        fermionic: dict[tuple, dict[str, Any]] = {}
        for (bar, gamma, fld), by_n in self.ftable.items():
            # the rephasing of right-handed parts: R → η R, R̄ → η* R̄
            eta = self.phase.get(fld.base, 1) * sp.conjugate(
                self.phase.get(fl.bar_partner(bar.base), 1)
            )
            for legs, coeff in by_n.get(1, {}).items():
                coeff = sp.simplify((eta * coeff).xreplace(fix))
                if coeff == 0:
                    continue
                key = (self.anti[self.particle_of[bar.base]], self.particle_of[fld.base], legs)
                entry = fermionic.setdefault(key, {"bar": key[0], "field": key[1], "bosons": legs})
                entry["left" if gamma.has(fl.diracPL) else "right"] = coeff
        return bosonic, list(fermionic.values())


def _ufo_name(name: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in name)


def _weight(c: ComponentField, s: sp.Symbol) -> int:
    return next(w for (_, w), x in c.symbols.items() if x == s)


def _coloured_masses(
    L: sp.Expr, c: ComponentField, others: list[sp.Expr]
) -> list[tuple[ComponentField, sp.Symbol, sp.Expr]]:
    """(field, colour-1 component, mass²) per weight of a coloured scalar: −∂²ℒ/∂φ̄∂φ with
    every field at zero (``others``: the other field symbols and derivative or bilinear atoms),
    checked diagonal over the field's components (colour is unbroken)."""
    syms = c.components
    bars = [sp.Symbol(f"{x.name}_bar") for x in syms]
    quad = sp.expand(
        L.xreplace(dict.fromkeys(others, 0)).xreplace(
            {sp.conjugate(x): b for x, b in zip(syms, bars)}
        )
    )
    at_zero = dict.fromkeys([*syms, *bars], 0)
    out = []
    for i, s in enumerate(syms):
        for t in syms:
            m = -sp.diff(quad, bars[i], t).xreplace(at_zero)
            if s != t and sp.simplify(m) != 0:
                raise UFOError(f"the mass matrix of {c.base} mixes {s} and {t}: not automated")
            if s == t and "_c1" in s.name:
                out.append((c, s, m))
    return out
