"""Damaged runs say what is wrong and how to heal it, and the named command really heals it (issue 10
item 6): ``info`` (``--verify``), interrupted stages, the export / select messages, ``repair RUN``."""

from __future__ import annotations

import json
import os
import shlex

import pytest

from prune_core.cli import main
from prune_core.store import RunStore
from prune_core.synthetic import make_synthetic_run

METHODS = "el2n,kcenter"


@pytest.fixture
def run(tmp_path):
    store = RunStore(tmp_path / "runs")
    made = make_synthetic_run(store, "synth", n=80, m=20, num_labels=2, seed=4)
    assert (
        main(["select", "synth", "--runs-dir", str(store.root), "--methods", METHODS, "--budgets", "0.2,0.5"])
        == 0
    )
    return made.reload()


def file_of(run, key):
    return run.path / run.file_info(key).path


def truncate(run, key):
    path = file_of(run, key)
    path.write_bytes(path.read_bytes()[:-7])


def flip(run, key):
    path = file_of(run, key)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def run_command(command: str) -> int:
    """Run a command exactly as a message printed it (``prunescope ...``)."""
    words = shlex.split(command)
    assert words[0] == "prunescope", command
    return main(words[1:])


def info(run, *flags):
    return main(["info", run.id, "--runs-dir", str(run.path.parent), *flags])


def test_info_reports_damage_and_verify_exits_nonzero(run, capsys):
    truncate(run, "rankings/el2n/plain")
    flip(run, "selections/kcenter/balanced")
    file_of(run, "scores/el2n").unlink()
    capsys.readouterr()
    assert info(run) == 0  # sizes only: the byte flip needs --verify
    out = capsys.readouterr().out
    assert "damaged  rankings/el2n/plain" in out and "damaged  scores/el2n: missing" in out
    assert "damaged  selections/kcenter/balanced" not in out and "--verify adds checksums" in out
    assert info(run, "--verify") == 1
    out = capsys.readouterr().out
    assert "selections/kcenter/balanced: checksum differs" in out
    assert f"repair: prunescope select synth --runs-dir {run.path.parent} --methods el2n" in out
    assert info(run, "--verify", "--json") == 1
    health = json.loads(capsys.readouterr().out)["health"]
    assert not health["ok"] and {p["what"] for p in health["problems"]} == {
        "rankings/el2n/plain",
        "selections/kcenter/balanced",
        "scores/el2n",
    }
    for command in dict.fromkeys(p["command"] for p in health["problems"]):
        assert run_command(command) == 0
    assert info(run, "--verify") == 0


def test_a_stage_whose_process_is_gone_shows_as_interrupted(run, capsys):
    run.begin_stage("select:moderate", {"budgets": [0.2]})
    with run._editing() as manifest:  # the process that began it was killed: a pid nobody has
        manifest.stages["select:moderate"].pid = 2**22 + 12345
    capsys.readouterr()
    assert info(run, "--verify") == 1
    out = capsys.readouterr().out
    stage_line = next(line for line in out.splitlines() if line.startswith("stage    select:moderate"))
    assert "interrupted" in stage_line and "running" not in stage_line
    assert "repair: prunescope select synth" in out and "--methods moderate --budgets 0.2" in out
    command = next(
        line.split("repair: ")[1] for line in out.splitlines() if "moderate" in line and "repair" in line
    )
    assert run_command(command) == 0
    assert info(run, "--verify") == 0


def test_export_of_a_damaged_ranking_names_select_and_select_repairs_it(run, tmp_path, capsys):
    truncate(run, "rankings/el2n/plain")
    args = ["export", "synth", "--runs-dir", str(run.path.parent), "--method", "el2n", "--ranking"]
    capsys.readouterr()
    assert main([*args, "--output", str(tmp_path / "order.txt")]) == 2
    err = capsys.readouterr().err
    assert "next `compute`" not in err
    command = err.split("run `")[1].split("`")[0]
    assert command.startswith("prunescope select synth") and "--methods el2n" in command
    assert run_command(command) == 0
    assert main([*args, "--output", str(tmp_path / "order.txt")]) == 0


@pytest.mark.parametrize("damage", ["truncate", "flip", "delete"])
def test_repair_rebuilds_a_damaged_manifest_from_the_files(run, capsys, damage):
    manifest = run.path / "manifest.json"
    text = manifest.read_text()
    before = json.loads(text)
    if damage == "truncate":
        manifest.write_text(text[: int(len(text) * 0.6)])
    elif damage == "flip":
        at = text.index('"selections/el2n/plain"') + 40  # inside one file record
        manifest.write_text(text[:at] + "\x00{" + text[at + 2 :])
    else:
        manifest.unlink()
    capsys.readouterr()
    assert info(run) == 2 if damage != "delete" else True  # an unreadable manifest is a clear error
    code = main(["repair", "synth", "--runs-dir", str(run.path.parent)])
    out = capsys.readouterr().out
    assert "rebuilt from the files on disk" in out
    rebuilt = json.loads(manifest.read_text())
    kept = rebuilt["files"]
    assert all(kept[k]["sha256"] == before["files"][k]["sha256"] for k in kept)
    if damage == "flip":  # one record spoilt: everything else survives, checked by sha256
        # that record's stage is left out whole (select recomputes it); every other file survives
        assert code == 1 and set(kept) == {
            k for k, v in before["files"].items() if v["stage"] != "select:el2n"
        }
        assert rebuilt["config"] == before["config"] and "damaged-" in out
    commands = [line.split("recompute: ")[1] for line in out.splitlines() if "recompute: " in line]
    if any(" compute " in c for c in commands):  # represent files lost: compute comes first (a real model)
        assert " compute " in commands[0]
        return
    for command in commands:
        assert run_command(command) == 0
    if damage == "flip":
        assert info(run, "--verify") == 0
    assert list(run.path.glob("manifest.json.damaged-*")) or damage == "delete"


def test_repair_leaves_an_intact_run_alone(run, capsys):
    before = (run.path / "manifest.json").read_text()
    assert main(["repair", "synth", "--runs-dir", str(run.path.parent)]) == 0
    assert "is intact" in capsys.readouterr().out
    assert (run.path / "manifest.json").read_text() == before
    assert os.listdir(run.path).count("manifest.json") == 1


def test_the_dashboard_names_an_interrupted_stage_instead_of_running(run):
    from app import needs

    run.begin_stage("select:moderate", {"budgets": [0.2]})
    with run._editing() as manifest:
        manifest.stages["select:moderate"].pid = 2**22 + 12345
    note = needs.stage_note(needs.NEEDS["scores"], run.reload())
    assert note == "interrupted (its process is gone): select:moderate"


# ------------------------------------------------------------------- what only `compute` repairs (a real run)
def test_damaged_compute_files_name_compute_and_the_printed_command_heals_the_run(
    tmp_path, tiny_model_dir, sst2_dir, capsys
):
    """A byte flipped in a representation and a deleted training-dynamics file belong to `compute`'s
    stages: `info --verify` names the compute command, and running exactly that command heals the run."""
    runs = tmp_path / "runs"
    args = ["compute", "--data", str(sst2_dir), "--model", str(tiny_model_dir), "--runs-dir", str(runs)]
    args += ["--limit", "48", "--limit-validation", "16", "--limit-test", "16", "--epochs", "1", "--quiet"]
    assert main(args) == 0
    run = RunStore(runs).runs()[0]
    stages = {key: record.stage for key, record in run.manifest.files.items()}
    represent = next(
        k for k, s in stages.items() if s.startswith("represent:") and run.file_info(k).bytes > 64
    )
    trained = next(k for k, s in stages.items() if s == "train")
    before = {k: file_of(run, k).read_bytes() for k in (represent, trained)}
    flip(run, represent)
    file_of(run, trained).unlink()
    capsys.readouterr()
    assert info(run, "--verify") == 1
    out = capsys.readouterr().out
    commands = {line.split("repair: ")[1] for line in out.splitlines() if "repair: " in line}
    assert len(commands) == 1, out  # both damages are compute's: one command repairs them
    (command,) = commands
    assert command.startswith("prunescope compute ") and f"--runs-dir {runs}" in command, command
    assert run_command(command) == 0
    assert [r.id for r in RunStore(runs).runs()] == [run.id]  # the same run resumed, not a new one
    capsys.readouterr()
    assert info(run, "--verify") == 0, capsys.readouterr().out
    healed = run.reload()
    for key, data in before.items():  # rewritten by the stages that made them, to the same bytes
        assert file_of(healed, key).read_bytes() == data, key
