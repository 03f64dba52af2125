"""The exact command that rewrites what a stage wrote: the one remedy every damage message names.

Each stage checks its own files before it reuses them (``Run.stage_is_done``), so re-running the command
that made a file rewrites it when it is damaged. Which command made it follows from the stage's name:

- ``data``, ``train``, ``represent:<checkpoint>``: ``compute`` with every setting the run was made with
  (a different setting would make a different run, leaving this one damaged);
- ``select:<method>`` and ``select:summary``: ``select`` with that method and its recorded budgets, rule
  and balance mode (``compute`` does not touch selections);
- ``map:<representation>:<method>``: ``maps`` for that representation and method;
- ``evaluate:<mode>`` and ``evaluate:summary``: ``evaluate`` with the recorded methods, budgets, seeds
  and variants.

Plain functions of the manifest, so the CLI, the app and ``info`` show the same command.
"""

from __future__ import annotations

import shlex
from pathlib import Path

CLI = "prunescope"


def _as_dict(record) -> dict:
    return record.to_dict() if hasattr(record, "to_dict") else dict(record or {})


def _section(run, name: str):
    manifest = run.manifest
    return getattr(manifest, name) if hasattr(manifest, name) else manifest.get(name) or {}


def files_of(run) -> dict[str, dict]:
    """The manifest's file records as plain dicts (the one place this module reads the manifest's shape)."""
    return {key: _as_dict(record) for key, record in _section(run, "files").items()}


def stages_of(run) -> dict[str, dict]:
    return {name: _as_dict(record) for name, record in _section(run, "stages").items()}


def config_of(run) -> dict:
    return dict(_section(run, "config"))


def _q(value: object) -> str:
    return shlex.quote(str(value))


def _runs_dir(run) -> str:
    return f"--runs-dir {_q(Path(run.path).parent)}"


def _number(value) -> str:
    """A fraction as the CLI reads it back as a fraction: 1.0 stays "1.0" ("1" would be ambiguous)."""
    if not isinstance(value, float):
        return str(value)
    text = f"{value:g}"
    return text if any(c in text for c in ".e") else f"{text}.0"


def _numbers(values) -> str:
    return ",".join(_number(v) for v in values)


def compute_command(run) -> str:
    """``compute`` with every setting recorded in the run's config (so it resumes this very run)."""
    config = config_of(run)
    dataset, train, represent = (config.get(k) or {} for k in ("dataset", "train", "represent"))
    parts = [CLI, "compute", "--data", _q(dataset.get("train") or "PATH")]
    flags = [
        ("--validation", dataset.get("validation")),
        ("--test", dataset.get("test")),
        ("--text-column", dataset.get("text_column")),
        ("--text-pair-column", dataset.get("text_pair_column")),
        ("--label-column", dataset.get("label_column")),
        ("--id-column", dataset.get("id_column")),
        ("--limit", dataset.get("limit")),
        ("--limit-validation", dataset.get("limit_validation")),
        ("--limit-test", dataset.get("limit_test")),
        ("--validation-fraction", dataset.get("validation_fraction")),
        ("--model", config.get("model")),
        ("--epochs", train.get("epochs")),
        ("--lr", train.get("lr")),
        ("--batch-size", train.get("batch_size")),
        ("--max-length", train.get("max_length")),
        ("--warmup-ratio", train.get("warmup_ratio")),
        ("--weight-decay", train.get("weight_decay")),
        ("--seed", train.get("seed", dataset.get("seed"))),
        ("--lora-r", train.get("lora_r") if train.get("lora") else None),
        ("--lora-alpha", train.get("lora_alpha") if train.get("lora") else None),
        ("--lora-dropout", train.get("lora_dropout") if train.get("lora") else None),
        ("--lora-targets", ",".join(train["lora_targets"]) if train.get("lora_targets") else None),
        ("--proj-dim", represent.get("proj_dim")),
        ("--proj-seed", represent.get("proj_seed")),
        ("--projector", represent.get("projector")),
        ("--grad-scope", represent.get("grad_scope")),
        ("--grad-checkpoints", represent.get("grad_checkpoints")),
        ("--grad-capture", represent.get("grad_capture")),
        (
            "--grad-factor-dim",
            represent.get("grad_factor_dim") if represent.get("grad_capture") == "step" else None,
        ),
    ]
    for flag, value in flags:
        if value is not None:
            parts += [flag, _q(f"{value:g}" if isinstance(value, float) else value)]
    precision = dict(_section(run, "model")).get("precision")
    if precision in ("fp32", "bf16"):  # the resolved precision is part of the run id
        parts += ["--precision", precision]
    if train.get("lora"):
        parts.append("--lora")
    parts.append(_runs_dir(run))
    return " ".join(parts)


def stage_command(run, stage: str | None) -> str:
    """The command that (re)computes ``stage`` of ``run`` with the settings it was computed with."""
    stage = stage or ""
    stages = stages_of(run)
    record = stages.get(stage, {}) if stage else {}
    params = record.get("params") or {}
    head = f"{CLI} {{verb}} {_q(run.id)} {_runs_dir(run)}"
    if stage.startswith("select:"):
        method = stage.split(":", 1)[1]
        if method == "summary":  # any select rebuilds the summary; take one done method's settings
            done = [
                s
                for s, r in stages.items()
                if s.startswith("select:") and s != "select:summary" and r.get("status") == "done"
            ]
            if not done:
                return head.format(verb="select")
            return stage_command(run, sorted(done)[0])
        parts = [head.format(verb="select"), "--methods", _q(method)]
        if params.get("budgets"):
            parts += ["--budgets", _numbers(params["budgets"])]
        if params.get("rule"):
            parts += ["--rule", _q(params["rule"])]
        if params.get("balance_mode"):
            parts += ["--balance-mode", _q(params["balance_mode"])]
        return " ".join(parts)
    if stage.startswith("map:") and stage.count(":") == 2:
        _, representation, method = stage.split(":")
        parts = [head.format(verb="maps"), "--representations", _q(representation), "--method", _q(method)]
        seed = (params.get("params") or params).get("seed") if isinstance(params, dict) else None
        if isinstance(seed, int):
            parts += ["--seed", str(seed)]
        return " ".join(parts)
    if stage.startswith("evaluate:"):
        mode = stage.split(":", 1)[1]
        parts = [head.format(verb="evaluate")]
        if mode in ("fast", "finetune"):
            parts += ["--mode", mode]
            for flag, field in (("--methods", "methods"), ("--budgets", "budgets"), ("--seeds", "seeds")):
                if params.get(field):
                    parts += [flag, _q(_numbers(params[field]))]
            if params.get("variants"):
                parts += ["--variants", _q(",".join(params["variants"]))]
        else:  # the summary table: any evaluate run rebuilds it from the stored results
            parts += ["--mode", "fast", "--no-baselines", "--methods", "random"]
        return " ".join(parts)
    return compute_command(run)


def file_command(run, key: str) -> str:
    """The command that rewrites stored file ``key`` (its stage from the manifest)."""
    info = files_of(run).get(key) or {}
    return stage_command(run, info.get("stage"))
