"""Synthetic runs: a run store filled with structured random arrays, for tests and benchmarks.

Writes exactly the keys and metadata a real ``compute`` writes (see ``pipeline.py``), without training
anything, so method, app and benchmark code can be exercised at any size in seconds. Examples come from
a Gaussian mixture (one blob per label plus noise); dynamics, logits, gradients and hidden states are
derived from the same latent positions so that methods have real structure to disagree about.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from prune_core.store import CheckpointInfo, DatasetInfo, Run, RunStore, keys

CHECKPOINTS = ("pretrained", "epoch-1", "epoch-2")


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


def make_synthetic_run(
    store: RunStore,
    run_id: str = "synthetic",
    *,
    n: int = 200,
    m: int = 50,
    num_labels: int = 2,
    epochs: int = 2,
    hidden: int = 16,
    dim: int = 32,
    seed: int = 0,
    labels: np.ndarray | None = None,
    train_seed: int | None = None,
    task: str = "classification",
) -> Run:
    """A complete run (data, train, represent stages) with ``n`` train and ``m`` validation examples.

    ``task="generation"`` writes what a generation run stores (prune_core/tasks/generation.py): labels
    are sources, examples have a prompt and a response, dynamics only ``p_gold`` and ``loss``, outputs
    a loss and a response-token count and no logits, and no classification-head inputs.

    ``train_seed`` stands for the reference model's training seed: the examples stay those of ``seed``,
    every model-derived array is perturbed by noise drawn from ``train_seed``, and the configuration
    records it as a real run's does, so runs differing only in it form a seed group.
    """
    rng = np.random.default_rng(seed)
    names = [f"label-{i}" for i in range(num_labels)]
    y = np.asarray(labels) if labels is not None else rng.integers(0, num_labels, n)
    y_val = rng.integers(0, num_labels, m)
    centers = rng.normal(0, 2.0, (num_labels, hidden))
    run = store.create(
        run_id,
        config={"synthetic": True, "n": n}
        | ({"train": {"seed": train_seed}} if train_seed is not None else {})
        | ({"dataset": {"task": task}} if task != "classification" else {}),
        dataset=DatasetInfo(
            label_names=names, sizes={"train": n, "validation": m}, fingerprint=f"synthetic-{seed}-{n}"
        ),
    )
    uids = [f"ex-{i:06d}" for i in range(n)] + [f"val-{i:05d}" for i in range(m)]
    examples = pd.DataFrame(
        {
            "uid": uids,
            "split": ["train"] * n + ["validation"] * m,
            "label": np.concatenate([y, y_val]).astype(np.int64),
            "text": [f"synthetic example {u}" for u in uids],
            "length": np.full(n + m, 3, dtype=np.int64),
        }
    )
    generation = task == "generation"
    if generation:
        examples["text"] = [f"Prompt of {u}:\n" for u in uids]
        examples.insert(4, "response", [f"the response of {u}" for u in uids])
    with run.stage(keys.DATA_STAGE) as stage:
        run.write_table(keys.EXAMPLES, examples, stage=stage.name)

    def latent(labels_: np.ndarray, size: int) -> np.ndarray:
        return centers[labels_] + rng.normal(0, 1.5, (size, hidden))

    z_train, z_val = latent(y, n), latent(y_val, m)
    if train_seed is not None:  # another training run of the same data: same examples, shifted features
        jitter = np.random.default_rng(10_000 + train_seed)
        z_train = z_train + jitter.normal(0, 0.75, z_train.shape)
        z_val = z_val + jitter.normal(0, 0.75, z_val.shape)
    readout = rng.normal(0, 0.5, (hidden, num_labels))
    readout[:, :] += (centers / 4).T
    with run.stage(keys.TRAIN_STAGE):
        logits_t = [z_train @ readout * (0.5 + e) for e in range(epochs)]
        probs_t = [_softmax(z) for z in logits_t]
        p_gold = np.stack([p[np.arange(n), y] for p in probs_t], axis=1).astype(np.float32)
        gold = np.stack([z[np.arange(n), y] for z in logits_t], axis=1)
        others = np.stack(
            [
                np.where(np.arange(num_labels)[None, :] == y[:, None], -np.inf, z).max(axis=1)
                for z in logits_t
            ],
            axis=1,
        )
        p_other = np.stack(
            [np.where(np.arange(num_labels)[None, :] == y[:, None], -np.inf, p).max(axis=1) for p in probs_t],
            axis=1,
        )
        dyn = {
            "p_gold": p_gold,
            "prob_margin": (p_gold - p_other).astype(np.float32),
            "loss": -np.log(np.clip(p_gold, 1e-12, 1)),
            "margin": (gold - others).astype(np.float32),
            "correct": (gold > others).astype(np.uint8),
        }
        for name, value in dyn.items():
            if generation and name not in ("p_gold", "loss"):
                continue
            run.write_array(
                keys.dynamics(name),
                value.astype(np.uint8 if name == "correct" else np.float32),
                stage=keys.TRAIN_STAGE,
                meta={"representation": "training dynamics", "split": "train", "quantity": name},
            )
        checkpoints = [CheckpointInfo("pretrained", epoch=0, step=0)]
        checkpoints += [
            CheckpointInfo(f"epoch-{e}", epoch=e, step=e * 10, lr=1e-4 / e, gradients=True)
            for e in range(1, epochs + 1)
        ]
        run.update_manifest(
            checkpoints=checkpoints, model={"name": "synthetic", "parameters": hidden * num_labels}
        )

    projection = rng.normal(0, 1 / np.sqrt(dim), (hidden * num_labels, dim))
    for ckpt in [c.id for c in checkpoints]:
        stage = keys.represent_stage(ckpt)
        with run.stage(stage):
            scale = (
                0.2 if ckpt == "pretrained" else 1.0 + int(ckpt.split("-")[1])
            )  # sharper as training goes on
            for split, z, labels_ in (("train", z_train, y), ("validation", z_val, y_val)):
                logits = (z @ readout * scale).astype(np.float32)
                probs = _softmax(logits)
                loss = -np.log(np.clip(probs[np.arange(len(z)), labels_], 1e-12, 1)).astype(np.float32)
                base = {"split": split, "checkpoint": ckpt}
                if generation:
                    tokens = np.full(len(z), 4.0, dtype=np.float32)
                    run.write_array(keys.outputs(split, ckpt, "tokens"), tokens, stage=stage, meta=base)
                else:
                    run.write_array(keys.outputs(split, ckpt, "logits"), logits, stage=stage, meta=base)
                run.write_array(keys.outputs(split, ckpt, "loss"), loss, stage=stage, meta=base)
                for pool in ("cls", "mean"):
                    run.write_array(
                        keys.hidden(split, ckpt, pool),
                        z * scale,
                        dtype="float16",
                        stage=stage,
                        meta={**base, "pooling": pool},
                    )
                if not generation:
                    run.write_array(
                        keys.head_input(split, ckpt),
                        np.tanh(z * scale),
                        dtype="float16",
                        stage=stage,
                        meta=base,
                    )
                if ckpt != "pretrained":  # gradients at every epoch checkpoint, as `compute` by default
                    delta = probs - np.eye(num_labels)[labels_]
                    full = (delta[:, :, None] * np.tanh(z)[:, None, :]).reshape(len(z), -1)
                    meta = {
                        **base,
                        "projection": {"dim": dim, "seed": seed, "kind": "dense"},
                        "scope": "synthetic",
                    }
                    run.write_array(
                        keys.grads(split, ckpt, "sgd"),
                        full @ projection,
                        dtype="float16",
                        stage=stage,
                        meta={**meta, "grad_type": "sgd"},
                    )
                    if split == "train":
                        run.write_array(
                            keys.grads(split, ckpt, "adam"),
                            np.sign(full) @ projection,
                            dtype="float16",
                            stage=stage,
                            meta={**meta, "grad_type": "adam"},
                        )
                    run.write_array(
                        keys.grad_norms(split, ckpt),
                        np.linalg.norm(full, axis=1).astype(np.float32),
                        stage=stage,
                        meta=meta,
                    )
    return run.reload()
