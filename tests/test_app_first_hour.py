"""The dashboard as a new user meets it: counts beside fractions, hints that name the `prunescope`
command, the New-run form's columns, model and training options."""

from __future__ import annotations

import pytest

from prune_core.results import Results
from prune_core.store import RunStore
from tests.run_fixtures import app_env, small_run  # noqa: F401  (shared fixtures)
from tests.test_app_pages import open_page


@pytest.fixture
def results(app_env):  # noqa: F811
    return Results(RunStore(app_env.parent).open(app_env.name))


def test_export_page_keeps_a_number_of_examples_and_shows_the_count_flag(app_env, results):  # noqa: F811
    at = open_page("app_pages/export.py")
    method = at.selectbox(key="export_method").value
    at.toggle(key="export_by_count").set_value(True).run()
    at.number_input(key="export_count").set_value(17).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.metric[0].value == f"17 of {results.n:,}"
    assert any(f"prunescope export {app_env.name} --method {method} --count 17" in c.value for c in at.code)


def test_export_page_never_writes_the_ambiguous_budget_1(app_env):  # noqa: F811
    at = open_page("app_pages/export.py")
    at.select_slider(key="export_budget").set_value(1.0).run()
    commands = [c.value for c in at.code if "prunescope export" in c.value]
    assert commands and all("--budget 1.0 " in c for c in commands)
