"""Shared fixtures: textbook field contents in the Q = T3 + Y/2 convention."""

import pytest

from lagnb.physics.fields import Field


def sm_fields() -> tuple[Field, ...]:
    """One generation of the Standard Model with Weyl fermions."""
    return (
        Field.left(3, 2, "1/3", name="Q"),
        Field.right(3, 1, "4/3", name="u"),
        Field.right(3, 1, "-2/3", name="d"),
        Field.left(1, 2, -1, name="L"),
        Field.right(1, 1, -2, name="e"),
        Field.scalar(1, 2, 1, name="H"),
    )


@pytest.fixture
def sm() -> tuple[Field, ...]:
    return sm_fields()
