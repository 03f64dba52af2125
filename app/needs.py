"""What each page needs from a run, whether the run has it, and the command that computes it.

A run may be half-computed (``compute`` only, ``select`` failed, no maps yet). Instead of a traceback a
page lists the missing pieces with the stage's status and the exact command. Checks
read only the manifest, so they cost nothing on a rerun.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from prune_core.paths import REPO_ROOT
from prune_core.results import Results
from prune_core.store import Run
from prune_core.store.remedy import stage_command
from prune_core.store.verify import stage_state


@dataclass(frozen=True)
class Need:
    key: str
    what: str  # in the user's words
    check: Callable[[Run], bool]
    verb: str  # CLI subcommand that computes it
    extra: str = ""  # extra CLI arguments
    stage_prefix: str = ""  # manifest stages whose status explains a gap


NEEDS: dict[str, Need] = {
    need.key: need
    for need in [
        Need(
            "examples",
            "the dataset's examples",
            lambda r: Results(r).has_examples,
            "compute",
            "--data PATH",
            "data",
        ),
        Need(
            "dynamics",
            "training dynamics (p(gold) and correctness per epoch)",
            lambda r: Results(r).has_dynamics,
            "compute",
            "--data PATH",
            "train",
        ),
        Need(
            "scores",
            "scores of at least two score-based methods",
            lambda r: Results(r).has_score_table and len(Results(r).scored_methods()) >= 2,
            "select",
            "",
            "select:",
        ),
        Need(
            "selections",
            "cached selections of at least one method",
            lambda r: Results(r).has_methods and len(Results(r).selected_methods()) >= 1,
            "select",
            "",
            "select:",
        ),
        Need(
            "two_selections",
            "cached selections of at least two methods",
            lambda r: Results(r).has_methods and len(Results(r).selected_methods()) >= 2,
            "select",
            "",
            "select:",
        ),
        Need(
            "maps",
            "a 2-D map (UMAP or PCA) or hidden states to map",
            lambda r: bool(Results(r).map_sources()),
            "maps",
            "--method pca",
            "map:",
        ),
    ]
}


def _runs_arg(run: Run) -> str:
    """``--runs-dir`` unless the run is in the built-in store: the terminal the command is pasted into may
    not share the dashboard's ``$PRUNESCOPE_RUNS_DIR``."""
    return (
        "" if run.path.parent == (REPO_ROOT / "data" / "runs").resolve() else f" --runs-dir {run.path.parent}"
    )


def compute_command(run: Run) -> str:
    """The ``compute`` command that (re)builds this run: its own dataset, model, epochs and limits."""
    config = Results(run).config
    dataset = config.get("dataset", {})
    parts = ["prunescope compute", f"--data {dataset.get('train') or 'PATH'}"]
    if config.get("model"):
        parts.append(f"--model {config['model']}")
    if config.get("train", {}).get("epochs"):
        parts.append(f"--epochs {config['train']['epochs']}")
    for option, field in (("--limit", "limit"), ("--limit-validation", "limit_validation")):
        if dataset.get(field):
            parts.append(f"{option} {dataset[field]}")
    return " ".join(parts) + _runs_arg(run)


def command_for(need: Need, run: Run) -> str:
    """The shell command that computes ``need`` for ``run``."""
    if need.verb == "compute":
        return compute_command(run)
    return f"prunescope {need.verb} {run.id}{_runs_arg(run)} {need.extra}".strip()


def recompute_command(run: Run, stage: str | None) -> str:
    """The command that rewrites a damaged file written by ``stage`` (prune_core/store/remedy.py)."""
    return stage_command(run, stage)


def stage_note(need: Need, run: Run) -> str:
    """Why a need is missing, from the manifest: stages still running or failed (with their error)."""
    if not need.stage_prefix:
        return ""
    stages = Results(run).stages(need.stage_prefix)
    states = {k: stage_state({"status": v.status, "pid": v.pid}) for k, v in stages.items()}
    running = sorted(k for k in stages if states[k] == "running")
    interrupted = sorted(k for k in stages if states[k] == "interrupted")
    failed = {k: v.error or "" for k, v in stages.items() if v.status == "failed"}
    notes = []
    if running:
        notes.append(f"running now: {', '.join(running)}")
    if interrupted:
        notes.append(f"interrupted (its process is gone): {', '.join(interrupted)}")
    if failed:
        first = next(iter(sorted(failed)))
        notes.append(f"{len(failed)} failed (e.g. {first}: {failed[first]})")
    return "; ".join(notes)


def missing(run: Run, keys: Iterable[str]) -> list[Need]:
    """The needs among ``keys`` that ``run`` does not satisfy, in the order given."""
    unknown = [k for k in keys if k not in NEEDS]
    if unknown:
        raise KeyError(f"unknown page needs {unknown}; known: {', '.join(NEEDS)}")
    return [NEEDS[k] for k in keys if not NEEDS[k].check(run)]
