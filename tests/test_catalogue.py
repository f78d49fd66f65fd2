"""The catalogue of named models: its API, and the SM's quantum numbers checked against physics
that does not come from lagnb (electric charges, anomaly cancellation)."""

from fractions import Fraction

import pytest

from lagnb.errors import LagnbError
from lagnb.physics import catalogue
from lagnb.physics.fields import Field


def electric_charges(f: Field) -> list[Fraction]:
    """Q = T3 + Y/2 over the SU(2) multiplet (T3 = j, j-1, …, -j)."""
    j = Fraction(f.su2 - 1, 2)
    return [j - k + f.y / 2 for k in range(f.su2)]


def test_standard_model_electric_charges():
    sm = {f.name: f for f in catalogue.get("sm").fields}
    assert list(sm) == ["Q", "u", "d", "L", "e", "H"]
    third = Fraction(1, 3)
    assert electric_charges(sm["Q"]) == [2 * third, -third]  # (u_L, d_L)
    assert electric_charges(sm["u"]) == [2 * third]
    assert electric_charges(sm["d"]) == [-third]
    assert electric_charges(sm["L"]) == [0, -1]  # (ν, e_L)
    assert electric_charges(sm["e"]) == [-1]
    assert electric_charges(sm["H"]) == [1, 0]
    assert [f.helicity for f in sm.values()] == [-0.5, 0.5, 0.5, -0.5, 0.5, None]


def test_standard_model_hypercharge_anomalies_cancel():
    """Σ Y and Σ Y³ over the left-handed Weyl states (right-handed ones conjugated) vanish:
    the U(1)_Y–gravity and U(1)_Y³ anomalies cancel in one generation."""
    fermions = [f for f in catalogue.get("sm").fields if f.is_fermion]
    ys = [(abs(f.su3) * f.su2, f.y if f.helicity < 0 else -f.y) for f in fermions]
    assert sum(n * y for n, y in ys) == 0
    assert sum(n * y**3 for n, y in ys) == 0


def test_catalogue_api():
    assert list(catalogue.CATALOGUE)[:2] == ["sm_leptons_higgs", "sm"]
    for name, model in catalogue.CATALOGUE.items():
        assert model.name == name and model.description and model.fields
        assert catalogue.get(name) is model
    assert catalogue.get("sm").fields == catalogue.STANDARD_MODEL
    assert catalogue.get("sm_leptons_higgs").fields == catalogue.STANDARD_MODEL[3:]
    assert catalogue.get("sm_triplet").fields[-1] == Field.scalar(1, 3, 2)
    with pytest.raises(LagnbError, match=r"unknown model 'SM': the catalogue has sm_leptons"):
        catalogue.get("SM")
    with pytest.raises(TypeError):
        catalogue.CATALOGUE["mine"] = catalogue.get("sm")  # read-only
