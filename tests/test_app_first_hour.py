"""The dashboard as a new user meets it: counts beside fractions, hints that name the `prunescope`
command, the New-run form's columns, model and training options."""

from __future__ import annotations

import os
import shutil

import pytest

from prune_core.jobs import Job, jobs_dir
from prune_core.results import Results
from prune_core.store import RunStore
from tests.run_fixtures import app_env, chart_specs, decode, small_run  # noqa: F401  (shared fixtures)
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


# ---------------------------------------------------------------------------------------------- jobs in pages
def fake_job(store_root, run_id: str, *, status: str, steps: dict[str, str], label: str = "") -> Job:
    """A job record as the driver writes it; an active one names this test process as its driver."""
    folder = jobs_dir(store_root) / f"20990101-000000-{label or 'job'}"
    folder.mkdir(parents=True)
    job = Job(folder)
    job.save(
        {
            "id": folder.name,
            "runs_dir": str(store_root),
            "request": {"data": "/data/x", "model": "minilm", "epochs": 3, "label": label},
            "steps": [{"name": n, "status": s, "note": "", "rc": None} for n, s in steps.items()],
            "status": status,
            "run_id": run_id,
            "driver_pid": os.getpid() if status == "running" else None,
        }
    )
    if status == "running":
        (folder / "driver.pid").write_text(str(os.getpid()))
    return job


@pytest.fixture
def private_store(small_run, tmp_path, monkeypatch):  # noqa: F811
    from app import loaders

    shutil.copytree(small_run, tmp_path / small_run.name)
    monkeypatch.setenv("PRUNESCOPE_RUNS_DIR", str(tmp_path))
    loaders.clear()
    yield RunStore(tmp_path).open(small_run.name)
    loaders.clear()


def test_a_page_names_the_running_job_that_will_fill_it_instead_of_a_command(private_store):
    fake_job(
        private_store.path.parent,
        private_store.id,
        status="running",
        steps={"compute": "done", "select": "done", "evaluate:fast": "pending"},
        label="demo",
    )
    at = open_page("app_pages/evaluation.py")
    assert any("The demo job is computing what this page needs" in i.value for i in at.info)
    assert not [c for c in at.code if "prunescope evaluate" in c.value]


def test_without_a_job_the_page_still_names_the_command(private_store):
    at = open_page("app_pages/evaluation.py")
    assert any("prunescope evaluate" in c.value for c in at.code)


def test_the_runs_page_says_what_a_run_holds_and_the_demo_is_ready(private_store):
    fake_job(
        private_store.path.parent, private_store.id, status="done", steps={"compute": "done"}, label="demo"
    )
    at = open_page("app_pages/runs.py")
    table = at.dataframe[0].value
    assert "stages done" not in table.columns
    state = table["state"].iloc[0]
    assert state.startswith("computed · ") and "methods selected" in state and "maps pca" in state
    assert 0 <= table["validation accuracy"].iloc[0] <= 1
    assert any("Demo ready" in s.value for s in at.success)


def test_the_overview_shows_the_reference_models_validation_curve(app_env):  # noqa: F811
    at = open_page("app_pages/overview.py")
    curve = chart_specs(at)["reference_curve"]["data"]
    assert [t["name"] for t in curve][:2] == ["accuracy", "macro-F1"]
    assert len(decode(curve[0]["x"])) == 3  # pre-trained, epoch 1, epoch 2
    assert any("validation accuracy" in c.value for c in at.caption)


# ---------------------------------------------------------------------------------------------- the New-run form
def test_new_run_form_previews_the_file_and_sends_the_chosen_columns(app_env, tmp_path, monkeypatch):  # noqa: F811
    import app.job_panel as panel

    data = tmp_path / "reviews.csv"
    data.write_text("review,category,ref\ngood film,pos,a1\nbad film,neg,a2\nfine,pos,a3\n")
    started = []
    monkeypatch.setattr(
        panel, "start_job", lambda request, root: started.append(request) or Job(tmp_path / "j")
    )
    at = open_page("app_pages/runs.py")
    at.text_input(key="new_run_path").input(str(data)).run()
    preview = next(d.value for d in at.dataframe if "review" in d.value.columns)
    assert preview["category"].tolist() == ["pos", "neg", "pos"]
    at.selectbox(key="new_run_text_column").set_value("review")
    at.selectbox(key="new_run_label_column").set_value("category")
    at.selectbox(key="new_run_id_column").set_value("ref")
    at.number_input(key="new_run_epochs").set_value(4)
    at.checkbox(key="new_run_lora").check()
    at.text_input(key="new_run_model").input("minilm")
    next(b for b in at.button if b.label == "Start").click().run()
    assert len(started) == 1, [e.value for e in at.error]
    request = started[0]
    assert (request.text_column, request.label_column, request.id_column) == ("review", "category", "ref")
    assert request.epochs == 4 and request.lora is True and request.model == "minilm"
    argv = request.steps("python", tmp_path)[0]["argv"]
    assert argv[argv.index("--label-column") + 1] == "category" and "--lora" in argv


def test_new_run_form_starts_a_generation_run_with_a_second_seed(app_env, tmp_path, monkeypatch):  # noqa: F811
    import app.job_panel as panel

    data = tmp_path / "mix.jsonl"
    rows = [
        '{"ref": "a", "instruction": "Say hi", "output": "hi", "origin": "chat"}',
        '{"ref": "b", "instruction": "Sum up: x", "output": "x", "origin": "summary"}',
    ]
    data.write_text("\n".join(rows) + "\n")
    started = []
    monkeypatch.setattr(
        panel, "start_job", lambda request, root: started.append(request) or Job(tmp_path / "j")
    )
    at = open_page("app_pages/runs.py")
    at.text_input(key="new_run_path").input(str(data)).run()
    at.radio(key="new_run_task").set_value("generation").run()
    # The preferred names are picked without help: instruction -> prompt, output -> response.
    assert at.selectbox(key="new_run_prompt_column").value == "instruction"
    assert at.selectbox(key="new_run_response_column").value == "output"
    assert at.checkbox(key="new_run_lora_generation").value is True  # LoRA is the decoders' default
    at.selectbox(key="new_run_source_column").set_value("origin")
    at.selectbox(key="new_run_gen_id_column").set_value("ref")
    at.number_input(key="new_run_seeds").set_value(2)
    next(b for b in at.button if b.label == "Start").click().run()
    assert len(started) == 1, [e.value for e in at.error]
    request = started[0]
    assert request.task == "generation" and request.extra_seeds == (1,)
    steps = request.steps("python", tmp_path)
    argv = steps[0]["argv"]
    for flag, value in (
        ("--task", "generation"),
        ("--prompt-column", "instruction"),
        ("--response-column", "output"),
        ("--source-column", "origin"),
        ("--id-column", "ref"),
    ):
        assert argv[argv.index(flag) + 1] == value, flag
    assert "--lora" not in argv and "--no-lora" not in argv  # compute's own default for generation
    assert [s["name"] for s in steps][-2:] == ["seed-1:compute", "seed-1:select"]
    assert steps[-2]["argv"][-2:] == ["--seeds", "1"] and steps[-2]["argv"][:-2] == argv
    assert "{run@seed-1}" in steps[-1]["argv"]


def test_new_run_form_errors_name_the_field(app_env, tmp_path):  # noqa: F811
    at = open_page("app_pages/runs.py")
    at.text_input(key="new_run_path").input(str(tmp_path / "missing.csv")).run()
    assert any(e.value.startswith("**Dataset path**: no file or folder") for e in at.error)
    data = tmp_path / "reviews.csv"
    data.write_text("review,category\ngood film,pos\nbad film,neg\n")
    at.text_input(key="new_run_path").input(str(data)).run()
    at.selectbox(key="new_run_text_column").set_value("review")
    at.selectbox(key="new_run_label_column").set_value("review")
    next(b for b in at.button if b.label == "Start").click().run()
    assert any(e.value.startswith("**Label column**: `review` is already the text column") for e in at.error)


def test_the_leaderboard_axis_starts_at_zero_and_stage_seconds_are_rounded():
    import pandas as pd

    from app.figures.evaluation import leaderboard_chart
    from app.views import stage_table

    board = pd.DataFrame(
        {
            "series": ["a", "b"],
            "method": ["a", "b"],
            "balanced": [False, False],
            "mean": [0.86, 0.85],
            "std": [0.0, 0.0],
            "share_x": [0.5, 0.5],
            "share_y": [0.5, 0.5],
        }
    )
    fig = leaderboard_chart(board, ["x", "y"], metric_title="accuracy", budget_text="30 %")
    assert list(fig.layout.xaxis.range) == [0.0, 1.0]
    from prune_core.store.manifest import StageRecord

    table = stage_table({"data": StageRecord("data", status="done", seconds=108.8912)})
    assert table["seconds"].tolist() == [108.9]
