"""What a job is on disk: its request, its record folder, and the views the app shows of it."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from prune_core.store import RunStore, StoreError, atomic_write_text

JOBS_FOLDER = ".jobs"
ACTIVE = ("starting", "running")
LOG_TAIL_LINES = 30


def seed_step(seed: int, verb: str) -> str:
    """The name of an extra seed's step: ``seed-1:compute``. Not prefixed by the verb, so pages waiting
    for the run's own ``select`` are not told to wait for another seed's."""
    return f"seed-{seed}:{verb}"


def seed_run_placeholder(seed: int) -> str:
    """The argument the driver replaces by the run that ``seed-<seed>:compute`` wrote."""
    return f"{{run@seed-{seed}}}"


@dataclass(frozen=True)
class JobRequest:
    """What a "New run" asks for: a dataset (path or ``hf:<id>``), a model and how much to compute."""

    data: str
    model: str = "minilm"
    epochs: int = 3
    limit: int | None = None
    limit_validation: int | None = None
    maps: tuple[str, ...] = ("pca", "umap")  # PCA first: a quick map while UMAP is still fitting
    methods: tuple[str, ...] = ()  # empty: every preset
    label: str = ""
    text_column: str = "text"
    text_pair_column: str | None = None
    label_column: str = "label"
    id_column: str | None = None
    lr: float | None = None  # None: compute's default (5e-5, or 5e-4 with LoRA)
    batch_size: int | None = None  # None: compute's default (32)
    lora: bool | None = None  # None: compute's default (off for classification, on for generation)
    evaluate_fast: bool = False  # end with a fast evaluation, so the Subset evaluation page has content
    # More training seeds of the same run (same data sample): after the run's own steps, one compute +
    # select per seed, so Seed stability and Compare two runs have runs to compare (`compute --seeds`).
    extra_seeds: tuple[int, ...] = ()
    task: str = "classification"  # or "generation": prompt/response pairs and a causal LM
    prompt_column: str = "prompt"
    response_column: str = "response"
    source_column: str | None = None

    def steps(self, python: str, runs_dir: Path) -> list[dict]:
        """The commands the driver runs in order; ``{run}`` is replaced by the run that compute wrote."""
        cli = [python, "-m", "prune_core"]
        compute = cli + [
            "compute",
            "--data",
            self.data,
            "--model",
            self.model,
            "--epochs",
            str(self.epochs),
            "--runs-dir",
            str(runs_dir),
        ]
        if self.task != "classification":
            compute += ["--task", self.task]
        for flag, value, default in (
            ("--text-column", self.text_column, "text"),
            ("--text-pair-column", self.text_pair_column, None),
            ("--label-column", self.label_column, "label"),
            ("--id-column", self.id_column, None),
            ("--prompt-column", self.prompt_column, "prompt"),
            ("--response-column", self.response_column, "response"),
            ("--source-column", self.source_column, None),
        ):
            if value and value != default:
                compute += [flag, value]
        if self.lr:
            compute += ["--lr", repr(float(self.lr))]
        if self.batch_size:
            compute += ["--batch-size", str(int(self.batch_size))]
        if self.lora is not None and self.lora != (self.task == "generation"):
            compute.append("--lora" if self.lora else "--no-lora")
        if self.limit:
            compute += ["--limit", str(self.limit)]
        if self.limit_validation:
            compute += ["--limit-validation", str(self.limit_validation)]
        select = cli + ["select", "{run}", "--runs-dir", str(runs_dir)]
        if self.methods:
            select += ["--methods", ",".join(self.methods)]
        steps = [("compute", compute), ("select", select)]
        steps += [
            (f"maps:{m}", cli + ["maps", "{run}", "--runs-dir", str(runs_dir), "--method", m])
            for m in self.maps
        ]
        if self.evaluate_fast:
            steps.append(
                (
                    "evaluate:fast",
                    cli
                    + ["evaluate", "{run}", "--runs-dir", str(runs_dir), "--mode", "fast"]
                    + ["--budgets", "0.1,0.3", "--quiet"],
                )
            )
        for seed in self.extra_seeds:  # last: the run's own pages fill first
            steps.append((seed_step(seed, "compute"), compute + ["--seeds", str(seed)]))
            steps.append(
                (
                    seed_step(seed, "select"),
                    [seed_run_placeholder(seed) if a == "{run}" else a for a in select],
                )
            )
        return [
            {
                "name": name,
                "argv": argv,
                "status": "pending",
                "rc": None,
                "pid": None,
                "started": None,
                "finished": None,
                "note": "",
            }
            for name, argv in steps
        ]


@dataclass
class StageView:
    """One progress bar: a stage of the job, how far it got and a short line of detail."""

    name: str
    status: str  # pending | running | done | failed | cached
    fraction: float
    detail: str = ""


@dataclass
class JobStatus:
    id: str
    status: str  # starting | running | done | failed | cancelled
    request: dict
    run_id: str | None
    stages: list[StageView] = field(default_factory=list)
    error: str | None = None
    log_tail: list[str] = field(default_factory=list)
    created: str = ""
    engine: str | None = None  # a distributed run's engine, workers and shard progress (engine_line)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass(frozen=True)
class Job:
    """A handle on a job folder; everything else is re-read from disk (so it survives reloads)."""

    path: Path

    @property
    def id(self) -> str:
        return self.path.name

    @property
    def record_path(self) -> Path:
        return self.path / "job.json"

    @property
    def log_path(self) -> Path:
        return self.path / "log.txt"

    def driver_pid(self) -> int | None:
        """The driver's process id (also its session and process group), as soon as it was started."""
        try:
            return int((self.path / "driver.pid").read_text())
        except (FileNotFoundError, ValueError):
            return self.record().get("driver_pid")

    def record(self) -> dict:
        try:
            return json.loads(self.record_path.read_text())
        except FileNotFoundError as err:
            raise StoreError(f"job {self.id}: no record at {self.record_path}") from err
        except json.JSONDecodeError as err:
            raise StoreError(f"job {self.id}: record {self.record_path} is not valid JSON ({err})") from err

    def save(self, record: dict) -> None:
        record["updated"] = time.time()
        atomic_write_text(self.record_path, json.dumps(record, indent=1))


def jobs_dir(runs_dir: str | Path | None = None) -> Path:
    return RunStore(runs_dir).root / JOBS_FOLDER


def child_env() -> dict:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"}
