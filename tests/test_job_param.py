"""A job id from the URL (``?job=``) or a caller is checked before it is joined to the jobs folder
(issue 10 item 10): ``../x`` or an absolute path never names a folder outside it."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from prune_core.jobs import load_job
from prune_core.jobs.control import is_job_id
from prune_core.paths import REPO_ROOT
from prune_core.store import StoreError


@pytest.fixture
def outside_job(tmp_path):
    """A folder outside the jobs folder that looks like a job (a job.json), as an attacker would plant."""
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "job.json").write_text(json.dumps({"id": "evil", "status": "failed", "error": "planted"}))
    return evil


@pytest.mark.parametrize("value", ["../../evil", "../evil", "/etc", "20260101-120000-a1b2c3/../../evil", ""])
def test_load_job_refuses_values_that_are_not_job_ids(tmp_path, outside_job, value):
    with pytest.raises(StoreError, match="not a job id"):
        load_job(tmp_path / "runs", value)


def test_job_ids_made_by_start_job_are_accepted():
    assert is_job_id("20261130-171500-0a9f3c") and not is_job_id("20261130-171500-0a9f3c\n")


def test_a_hostile_job_parameter_is_ignored_by_the_dashboard(tmp_path, outside_job, monkeypatch):
    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(tmp_path / "runs" / "store"))
    at = AppTest.from_file(str(REPO_ROOT / "app" / "Home.py"), default_timeout=90)
    at.query_params["job"] = "../../../evil"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any("planted" in c.value for c in at.code) and not any("evil" in m.value for m in at.markdown)
