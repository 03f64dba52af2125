"""budget_to_k: fractions and counts become an integer k, anything else is refused with a clear message."""

from __future__ import annotations

import math

import numpy as np
import pytest

from prune_core.select import BudgetError, budget_to_k


def test_fraction_keeps_floor_of_budget_times_n():
    assert budget_to_k(0.1, 100) == 10
    assert budget_to_k(0.25, 10) == 2
    assert budget_to_k(1.0, 7) == 7


def test_fraction_is_not_lost_to_binary_rounding():
    # 0.29 * 100 is 28.999999999999996 in floating point; the user asked for 29 examples.
    assert 0.29 * 100 < 29
    assert budget_to_k(0.29, 100) == 29


def test_tiny_fraction_keeps_at_least_one_example():
    assert budget_to_k(0.001, 10) == 1
    assert budget_to_k(0.5, 0) == 0


def test_integer_count_is_returned_as_is():
    assert budget_to_k(3, 10) == 3
    assert budget_to_k(np.int64(10), 10) == 10
    assert isinstance(budget_to_k(np.int32(4), 10), int)


@pytest.mark.parametrize(
    ("budget", "message"),
    [
        (0, "integer count in 1..10"),
        (0.0, "fraction in (0, 1]"),
        (1.5, "fraction in (0, 1], found 1.5 (pass an int"),
        (-1, "integer count in 1..10"),
        (-0.2, "fraction in (0, 1]"),
        (math.nan, "found NaN"),
        (11, "found 11"),
        (True, "boolean"),
        ("0.5", "of type str"),
    ],
)
def test_invalid_budgets_raise_budget_error_saying_what_was_expected(budget, message):
    with pytest.raises(BudgetError) as error:
        budget_to_k(budget, 10)
    assert message in str(error.value)


def test_budget_error_is_a_value_error():
    assert issubclass(BudgetError, ValueError)
