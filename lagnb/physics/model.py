"""A whole model with names: its extra symmetries, declared once, and its fields.

A model file is TOML (read with the standard library's ``tomllib``, Python ≥ 3.11, or the
``tomli`` package on Python 3.10)::

    name = "scotogenic"                      # optional

    [symmetries]                             # optional: extra Abelian symmetries
    Z2 = "Z2"                                # a Z_N: "Z<N>", or { kind = "Z", order = 2 }
    BL = "gauged"                            # a gauged U(1)′ (own gauge boson)
    Lepton = "global"                        # a global U(1)

    [[field]]
    name = "L"                               # display name (LaTeX allowed)
    type = "left"                            # "scalar", "left" or "right" (Weyl fermions)
    su3 = 1                                  # 1, 3, "3bar" (or -3), 6, "6bar", 8
    su2 = 2                                  # 1, 2, 3, 4
    y = -1                                   # hypercharge, Q = T3 + Y/2: 1, "1/3", -0.5 …
    generations = 3                          # optional, default 1
    charges = { Lepton = 1 }                 # optional, default 0 under every symmetry

    [[field]]
    name = "S"
    type = "scalar"
    real = true                              # optional: a real scalar (real representation)
    charges = { Z2 = 1 }

Every key is checked: an unknown key, an undeclared symmetry, a Z_N charge that is no integer,
``generations`` below 1 or a real field in a complex representation is a
:class:`~lagnb.errors.FieldError` naming the file and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from lagnb.errors import FieldError, LagnbError
from lagnb.physics.engine import lagrangian
from lagnb.physics.fields import HALF, Field
from lagnb.physics.symmetries import Symmetry, declared_symmetry
from lagnb.physics.terms import Lagrangian

FIELD_KEYS = ("name", "type", "su3", "su2", "y", "generations", "real", "charges")
FIELD_TYPES = {"scalar": (Fraction(0), None), "left": (HALF, -HALF), "right": (HALF, HALF)}
_ZN = re.compile(r"Z_?(\d+)")


@dataclass(frozen=True)
class Model:
    """A named field list with the extra symmetries it declares.

    Every symmetry a field is charged under must be among ``symmetries`` (declared once for
    the model); two symmetries may not share a name.
    """

    fields: tuple[Field, ...]
    symmetries: tuple[Symmetry, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "symmetries", tuple(self.symmetries))
        if not self.fields:
            raise FieldError(f"{self._where}: the model has no fields")
        names = [s.name for s in self.symmetries]
        for n in names:
            if names.count(n) > 1:
                raise FieldError(f"{self._where}: symmetry {n!r} is declared twice")
        declared = set(self.symmetries)
        for k, f in enumerate(self.fields, start=1):
            for sym, _ in f.charges:
                if sym not in declared:
                    raise FieldError(
                        f"{self._where}: field {f.name or k!r} is charged under {sym.name!r}, "
                        "which the model does not declare"
                    )

    @property
    def _where(self) -> str:
        return f"model {self.name!r}" if self.name else "model"

    def lagrangian(self) -> Lagrangian:
        """The renormalizable Lagrangian of the model's fields."""
        return lagrangian(self.fields)


def model_symmetry(name: str, spec: object, where: str) -> Symmetry:
    """A symmetry declared as in a model file: ``"gauged"``, ``"global"``, ``"Z<N>"`` or a
    table ``{kind = …, order = …}``; errors name ``where``."""
    if isinstance(spec, str):
        if spec in ("gauged", "global"):
            return Symmetry(name, spec)
        m = _ZN.fullmatch(spec)
        if m:
            return Symmetry(name, "Z", int(m.group(1)))
        raise FieldError(
            f'{where}: symmetry {name!r} = {spec!r}: expected "gauged", "global" or '
            '"Z<N>" such as "Z2", or a table { kind = "Z", order = 2 }'
        )
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"kind", "order"}
        if unknown:
            raise FieldError(f"{where}: symmetry {name!r}: unknown key {sorted(unknown)[0]!r}")
        return Symmetry(name, spec.get("kind", "gauged"), spec.get("order", 0))
    raise FieldError(f"{where}: symmetry {name!r}: expected a string or a table")


def _su3(value: object, where: str) -> int:
    if isinstance(value, str):
        m = re.fullmatch(r"(\d)\s*(bar)?", value.strip())
        if not m:
            raise FieldError(f'{where}: su3 {value!r}: write 1, 3, "3bar", 6, "6bar" or 8')
        return -int(m.group(1)) if m.group(2) else int(m.group(1))
    return value  # type: ignore[return-value]  # Field checks it


def model_from_dict(data: Mapping[str, object], source: str = "model") -> Model:
    """A :class:`Model` from the parsed TOML table (see the module docstring)."""
    unknown = set(data) - {"name", "symmetries", "field"}
    if unknown:
        raise FieldError(
            f"{source}: unknown key {sorted(unknown)[0]!r} (expected name, [symmetries], [[field]])"
        )
    raw_syms = data.get("symmetries", {})
    if not isinstance(raw_syms, Mapping):
        raise FieldError(f"{source}: [symmetries] must be a table")
    try:
        syms = {n: model_symmetry(n, spec, source) for n, spec in raw_syms.items()}
    except FieldError as exc:
        msg = str(exc)
        raise FieldError(msg if msg.startswith(source) else f"{source}: {msg}") from None
    raw_fields = data.get("field", [])
    if not isinstance(raw_fields, list) or not raw_fields:
        raise FieldError(f"{source}: no fields; add [[field]] tables")
    fields = [_field(entry, k, syms, source) for k, entry in enumerate(raw_fields, start=1)]
    names = [f.name for f in fields]
    for n in names:
        if names.count(n) > 1:
            raise FieldError(f"{source}: field name {n!r} is used twice")
    return Model(tuple(fields), tuple(syms.values()), str(data.get("name", "")))


def _field(entry: object, k: int, syms: Mapping[str, Symmetry], source: str) -> Field:
    if not isinstance(entry, Mapping):
        raise FieldError(f"{source}: field {k} must be a table")
    where = f"{source}: field {entry.get('name', k)!r}"
    unknown = set(entry) - set(FIELD_KEYS)
    if unknown:
        raise FieldError(
            f"{where}: unknown key {sorted(unknown)[0]!r} (expected {', '.join(FIELD_KEYS)})"
        )
    kind = entry.get("type")
    if kind not in FIELD_TYPES:
        raise FieldError(f'{where}: type must be "scalar", "left" or "right", got {kind!r}')
    spin, helicity = FIELD_TYPES[kind]  # type: ignore[index]
    charges = entry.get("charges", {})
    if not isinstance(charges, Mapping):
        raise FieldError(f"{where}: charges must be a table like {{ Z2 = 1 }}")
    resolved = {}
    for sym_name, q in charges.items():
        sym = declared_symmetry(syms, sym_name, where, "declare it under [symmetries]")
        resolved[sym] = q
    name = entry.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise FieldError(f"{source}: field {k}: name must be a non-empty string")
    try:
        return Field(
            spin,
            _su3(entry.get("su3", 1), where),
            entry.get("su2", 1),  # type: ignore[arg-type]
            entry.get("y", 0),  # type: ignore[arg-type]
            helicity,
            name,
            entry.get("real", False),  # type: ignore[arg-type]
            entry.get("generations", 1),  # type: ignore[arg-type]
            resolved,  # type: ignore[arg-type]
        )
    except FieldError as exc:
        raise FieldError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None


def parse_model(text: str, source: str = "model") -> Model:
    """A :class:`Model` from the text of a TOML model file."""
    try:
        import tomllib  # Python ≥ 3.11
    except ImportError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            raise LagnbError(
                f"{source}: reading a TOML model file needs Python ≥ 3.11 or the tomli package"
            ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FieldError(f"{source}: not valid TOML: {exc}") from None
    return model_from_dict(data, source)


def read_model(path: str | Path) -> Model:
    """A :class:`Model` from a TOML model file (see the module docstring for the format)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise LagnbError(f"{p}: cannot read the model file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise LagnbError(f"{p}: the model file is not UTF-8 text") from None
    return parse_model(text, str(p))
