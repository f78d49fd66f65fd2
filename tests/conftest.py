"""Shared fixtures: textbook field contents in the Q = T3 + Y/2 convention."""

import pytest

from lagnb.physics import catalogue
from lagnb.physics.fields import Field


def sm_fields() -> tuple[Field, ...]:
    """One generation of the Standard Model with Weyl fermions (the catalogue's ``"sm"``)."""
    return catalogue.get("sm").fields


@pytest.fixture
def sm() -> tuple[Field, ...]:
    return sm_fields()
