"""Generation runs: prompt/response data, response-only loss, causal per-example gradients, compute.

Models are tiny random decoders built from a transformers config with a tokenizer trained on the test
texts (prune_core/tiny_decoder.py): nothing is downloaded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from prune_core.data import DataError, DatasetSpec, load_dataset
from prune_core.models import apply_lora, is_decoder_only, load_causal_lm
from prune_core.prompt_data import plain_chat_prompt
from prune_core.represent.gradients import PerExampleGradients, additive_mask, gradient_parameter_names
from prune_core.tasks import GENERATION
from prune_core.tasks.generation import encode_generation, kept_positions, response_token_losses
from prune_core.tiny_decoder import build_tiny_decoder
from prune_core.tokenize import IGNORE, Encoded, response_targets

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "data" / "demo_instruct"


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _pairs(n: int = 12) -> list[dict]:
    sources = ["math", "echo", "shout"]
    return [
        {
            "prompt": f"Task {i}: say word{i}\n",
            "response": f"word{i} " * (1 + i % 3),
            "source": sources[i % 3],
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def decoder_dir(tmp_path_factory):
    texts = [t for r in _pairs(40) for t in (r["prompt"], r["response"])]
    return build_tiny_decoder(tmp_path_factory.mktemp("tiny-gpt2"), texts, hidden=16, layers=2)


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    texts = [t for r in _pairs(40) for t in (r["prompt"], r["response"])]
    return build_tiny_decoder(tmp_path_factory.mktemp("tiny-llama"), texts, arch="llama", hidden=16, layers=2)


# ------------------------------------------------------------------------------------------------ data
def test_prompt_response_pairs_load_with_sources_as_labels(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", _pairs(12))
    data = load_dataset(DatasetSpec(str(path), task="generation", validation_fraction=0.25))
    assert data.task == "generation"
    assert data.label_names == ["echo", "math", "shout"]
    assert set(data.examples.columns) >= {"uid", "split", "label", "text", "response"}
    assert data.sizes == {"train": 9, "validation": 3}
    train = data.split("train")
    row = train.iloc[0]
    original = next(r for r in _pairs(12) if r["prompt"] == row["text"])
    assert row["response"] == original["response"]
    assert data.label_names[row["label"]] == original["source"]
    again = load_dataset(DatasetSpec(str(path), task="generation", validation_fraction=0.25))
    assert again.fingerprint == data.fingerprint and list(again.examples["uid"]) == list(data.examples["uid"])


def test_the_task_and_its_columns_are_part_of_the_run_key_only_for_generation():
    plain = DatasetSpec("x.csv").to_dict()
    assert "task" not in plain and "prompt_column" not in plain  # classification run ids are unchanged
    generation = DatasetSpec("x.csv", task="generation").to_dict()
    assert generation["task"] == "generation" and generation["response_column"] == "response"


def test_messages_use_the_plain_template_and_the_last_reply_as_response(tmp_path):
    rows = [
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": f"Hi {i}"},
                {"role": "assistant", "content": f"Hello {i}"},
            ],
            "category": "chat" if i % 2 else "greet",
        }
        for i in range(6)
    ]
    path = _write_jsonl(tmp_path / "train.jsonl", rows)
    data = load_dataset(DatasetSpec(str(path), task="generation", validation_fraction=0.34))
    first = data.examples.iloc[0]
    assert first["text"] == "<|system|>\nBe brief.\n<|user|>\nHi 0\n<|assistant|>\n"
    assert first["text"] == plain_chat_prompt(rows[0]["messages"][:2])
    assert first["response"] == "Hello 0"
    assert data.label_names == ["chat", "greet"]  # the category column is the source


def test_hub_generation_datasets_load_pairs_and_chats_from_their_own_splits(monkeypatch):
    """``hf:<id>`` works for generation as for classification: the hub's own splits, the configured
    prompt/response/source columns, and ``messages`` lists as the hub hands them over (arrays of dicts)."""
    datasets = pytest.importorskip("datasets")
    pairs = {
        "train": {"instruction": ["Add 1 and 2", "Name a colour", "Say hi"], "output": ["3", "red", "hi"]},
        "validation": {"instruction": ["Add 2 and 2"], "output": ["4"]},
    }
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    chats = {"train": {"messages": [chat] * 3, "category": ["a", "b", "a"]}}
    calls = []

    def fake_load_dataset(name, config=None):
        calls.append((name, config))
        table = pairs if name == "org/alpaca-like" else chats
        return datasets.DatasetDict(
            {split: datasets.Dataset.from_dict(cols) for split, cols in table.items()}
        )

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    spec = DatasetSpec(
        "hf:org/alpaca-like", task="generation", prompt_column="instruction", response_column="output"
    )
    data = load_dataset(spec)
    assert calls == [("org/alpaca-like", None)]
    assert data.sizes == {"train": 3, "validation": 1}
    assert data.split("validation")["text"].tolist() == ["Add 2 and 2"]
    assert data.split("validation")["response"].tolist() == ["4"]
    assert data.sources["train"] == "hf:org/alpaca-like"

    data = load_dataset(DatasetSpec("hf:org/chats:default", task="generation", validation_fraction=0.34))
    assert calls[-1] == ("org/chats", "default")
    first = data.examples.iloc[0]
    assert first["text"] == plain_chat_prompt(chat[:1]) and first["response"] == "Hello"
    assert data.label_names == ["a", "b"]  # the hub's category column is the source


@pytest.mark.parametrize(
    ("row", "column", "problem"),
    [
        ({"prompt": "p", "response": "", "source": "a"}, "response", "empty response"),
        ({"prompt": "p", "response": "   ", "source": "a"}, "response", "only whitespace"),
        ({"prompt": "p", "response": None, "source": "a"}, "response", "missing response"),
        ({"prompt": "", "response": "r", "source": "a"}, "prompt", "empty prompt"),
    ],
)
def test_bad_rows_name_file_row_and_column(tmp_path, row, column, problem):
    path = _write_jsonl(tmp_path / "train.jsonl", [*_pairs(3), row])
    with pytest.raises(DataError) as err:
        load_dataset(DatasetSpec(str(path), task="generation"))
    message = str(err.value)
    assert str(path) in message and "row 4" in message and repr(column) in message and problem in message


def test_missing_columns_and_bad_chats_are_clear(tmp_path):
    path = _write_jsonl(tmp_path / "train.jsonl", [{"question": "q", "answer": "a"}] * 3)
    with pytest.raises(
        DataError, match=r"expected 'prompt' and 'response'.*--prompt-column.*question, answer"
    ):
        load_dataset(DatasetSpec(str(path), task="generation"))
    path = _write_jsonl(tmp_path / "t2.jsonl", [{"prompt": "q", "answer": "a"}] * 3)
    with pytest.raises(DataError, match=r"column 'response'.*--response-column"):
        load_dataset(DatasetSpec(str(path), task="generation"))
    chat = [{"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "again"}]}] * 3
    path = _write_jsonl(tmp_path / "t3.jsonl", chat)
    with pytest.raises(DataError, match=r"row 1.*'messages'.*expected the assistant's reply"):
        load_dataset(DatasetSpec(str(path), task="generation"))


def test_the_demo_set_is_reproduced_by_its_script(tmp_path):
    subprocess.run([sys.executable, str(REPO / "data" / "make_demo_instruct.py"), str(tmp_path)], check=True)
    for split in ("train", "validation", "test"):
        assert (tmp_path / f"{split}.jsonl").read_bytes() == (DEMO / f"{split}.jsonl").read_bytes()
    data = load_dataset(DatasetSpec(str(DEMO), task="generation"))
    assert len(data.label_names) == 5 and data.sizes["train"] == 280


# ------------------------------------------------------------------------------------------------ tokens
def test_truncation_keeps_the_prompt_cuts_the_response_and_says_so(decoder_dir):
    tokenizer = load_causal_lm(str(decoder_dir)).tokenizer
    notes = []
    prompt, response = "Task 1: say word1\n", "word1 " * 30
    n_prompt = len(tokenizer(prompt)["input_ids"])
    encoded = encode_generation(tokenizer, [prompt], [response], n_prompt + 3, log=notes.append)
    assert encoded.response_start == [n_prompt] and len(encoded.input_ids[0]) == n_prompt + 3
    assert notes and "1 of 1 responses" in notes[0] and "--max-length" in notes[0]
    full = encode_generation(tokenizer, [prompt], ["word1"], 64, log=notes.append)
    assert full.input_ids[0][-1] == tokenizer.eos_token_id  # the response ends with EOS
    with pytest.raises(
        DataError, match=r"data\.jsonl, example u1: the prompt is \d+ tokens and fills --max-length"
    ):
        encode_generation(tokenizer, [prompt], ["x"], n_prompt, uids=["u1"], source="data.jsonl")


def test_loss_counts_response_tokens_only_on_hand_built_sequences():
    encoded = Encoded([[5, 6, 7, 8, 9], [5, 6, 8]], None, pad_token_id=0, response_start=[3, 2])
    targets = response_targets(encoded, np.array([0, 1]), 5)
    assert targets.tolist() == [[IGNORE, IGNORE, IGNORE, 8, 9], [IGNORE, IGNORE, 8, IGNORE, IGNORE]]
    logits = torch.randn(2, 5, 12, generator=torch.Generator().manual_seed(0))
    loss, counts = response_token_losses(logits, targets)
    assert counts.tolist() == [2, 1]
    expected = -torch.log_softmax(logits[0], -1)[[2, 3], [8, 9]].mean()  # position t predicts token t + 1
    assert torch.allclose(loss[0], expected)
    # a prompt-only change moves nothing: the prompt tokens are never targets
    prompt_changed = Encoded([[1, 2, 3, 8, 9], [4, 6, 8]], None, pad_token_id=0, response_start=[3, 2])
    same = response_token_losses(logits, response_targets(prompt_changed, np.array([0, 1]), 5))[0]
    assert torch.equal(same, loss)
    # a response change does
    response_changed = Encoded([[5, 6, 7, 8, 10], [5, 6, 8]], None, pad_token_id=0, response_start=[3, 2])
    moved = response_token_losses(logits, response_targets(response_changed, np.array([0, 1]), 5))[0]
    assert moved[0] != loss[0] and moved[1] == loss[1]
    # logits at prompt positions before the last prompt token do not enter the loss
    edited = logits.clone()
    edited[0, :2] += 5.0
    assert torch.equal(response_token_losses(edited, targets)[0], loss)


def test_kept_positions_are_the_positions_that_predict_response_tokens():
    encoded = Encoded([[5, 6, 7, 8, 9], [5, 6, 8]], None, pad_token_id=0, response_start=[3, 2])
    targets = response_targets(encoded, np.array([0, 1]), 5)
    positions, wanted = kept_positions(targets)
    # example 0 reads positions 2 and 3 (predicting 8 and 9); example 1 reads 1 and fills with IGNORE
    assert positions[0].tolist() == [2, 3] and wanted[0].tolist() == [8, 9]
    assert positions[1, 0].item() == 1 and wanted[1].tolist() == [8, IGNORE]
    logits = torch.randn(2, 5, 12, generator=torch.Generator().manual_seed(1))
    kept = logits.gather(1, positions[:, :, None].expand(-1, -1, 12))
    full_loss, full_counts = response_token_losses(logits, targets)
    kept_loss, kept_counts = response_token_losses(kept, targets)
    assert torch.allclose(kept_loss, full_loss, rtol=0, atol=1e-6) and torch.equal(kept_counts, full_counts)


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_logits_at_response_positions_only_give_the_same_losses_and_gradients(decoder_dir, llama_dir, arch):
    """The training step and the eval passes ask the decoder for logits at response positions only
    (``logits_to_keep``): losses and parameter gradients equal those of the full-logit forward."""
    loaded = load_causal_lm(str(decoder_dir if arch == "gpt2" else llama_dir))
    model = loaded.model.eval()
    rows = _pairs(6)
    encoded = encode_generation(
        loaded.tokenizer, [r["prompt"] for r in rows], [r["response"] for r in rows], 64, log=lambda _m: None
    )
    batch, targets = GENERATION.batch(encoded, np.zeros(6, dtype=np.int64), np.arange(6), torch.device("cpu"))
    kwargs = GENERATION.forward_kwargs(model, targets)
    assert set(kwargs) == {"logits_to_keep"}

    def loss_and_grads(**extra):
        model.zero_grad()
        losses = GENERATION.per_example_loss(model(**batch, **extra).logits, targets)
        losses.mean().backward()
        return losses.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    full_losses, full_grads = loss_and_grads()
    kept_losses, kept_grads = loss_and_grads(**kwargs)
    assert torch.allclose(kept_losses, full_losses, rtol=1e-5, atol=1e-6)
    assert full_grads.keys() == kept_grads.keys()
    for name, grad in full_grads.items():
        assert torch.allclose(kept_grads[name], grad, rtol=1e-4, atol=1e-6), name


def test_a_prompt_change_leaves_the_loss_mask_and_a_response_change_moves_the_trained_loss(decoder_dir):
    """End to end through the model: editing the prompt's last target-free tokens still changes the
    model's context, but the per-example loss counts exactly the response tokens."""
    loaded = load_causal_lm(str(decoder_dir))
    model = loaded.model.eval()
    encoded = encode_generation(loaded.tokenizer, ["Task 1: say word1\n"], ["word1"], 64)
    batch, targets = GENERATION.batch(encoded, np.zeros(1), np.array([0]), "cpu")
    assert int((targets != IGNORE).sum()) == len(encoded.input_ids[0]) - encoded.response_start[0]
    with torch.no_grad():
        loss = GENERATION.per_example_loss(model(**batch).logits, targets)
    logits = model(**batch).logits.detach()
    token_losses = -torch.log_softmax(logits[0, :-1], -1)[
        torch.arange(logits.shape[1] - 1), batch["input_ids"][0, 1:]
    ]
    start = encoded.response_start[0]
    assert torch.allclose(loss[0], token_losses[start - 1 :].mean())


# ------------------------------------------------------------------------------------------------ gradients
def _encoded_batch(tokenizer, n: int = 5) -> Encoded:
    rows = _pairs(n)
    return encode_generation(tokenizer, [r["prompt"] for r in rows], [r["response"] for r in rows], 64)


def _loop_gradients(model, names, encoded):
    """The slow reference: one unpadded example at a time, plain autograd, the model's own 2-D mask."""
    named = dict(model.named_parameters())
    rows = []
    for i in range(len(encoded)):
        batch, targets = GENERATION.batch(encoded, np.zeros(len(encoded)), np.array([i]), "cpu")
        loss = GENERATION.per_example_loss(model(**batch).logits, targets)[0]
        grads = torch.autograd.grad(loss, [named[n] for n in names])
        rows.append(torch.cat([g.flatten() for g in grads]))
    return torch.stack(rows)


def _relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(a - b) / torch.linalg.vector_norm(b))


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
@pytest.mark.parametrize("lora", [True, False])
def test_batched_decoder_gradients_equal_a_batch_size_one_loop(decoder_dir, llama_dir, arch, lora):
    loaded = load_causal_lm(str(decoder_dir if arch == "gpt2" else llama_dir), seed=1)
    model = loaded.model
    if lora:
        model = apply_lora(model, r=4, alpha=8, dropout=0.0, task_type="CAUSAL_LM")
        with torch.no_grad():  # LoRA's B starts at zero; give the adapters a real effect
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0, 0.1)
    model.eval()
    assert is_decoder_only(model)
    names = gradient_parameter_names(model, "trainable" if lora else "top")
    encoded = _encoded_batch(loaded.tokenizer)
    assert len({len(x) for x in encoded.input_ids}) > 1  # the batch really is padded
    batch, targets = GENERATION.batch(encoded, np.zeros(len(encoded)), np.arange(len(encoded)), "cpu")
    batched = PerExampleGradients(model, names, task=GENERATION)(batch, targets)
    reference = _loop_gradients(model, names, encoded)
    assert _relative_error(batched, reference) <= 1e-4


def test_without_the_causal_mask_the_gradients_would_see_future_tokens(decoder_dir):
    """The known trap: a padding-only 4-D mask passes through transformers unchanged."""
    loaded = load_causal_lm(str(decoder_dir), seed=1)
    model = loaded.model.eval()
    names = gradient_parameter_names(model, "top")
    encoded = _encoded_batch(loaded.tokenizer)
    batch, targets = GENERATION.batch(encoded, np.zeros(len(encoded)), np.arange(len(encoded)), "cpu")
    compute = PerExampleGradients(model, names, task=GENERATION)
    reference = _loop_gradients(model, names, encoded)
    compute.causal = False
    leaky = compute(batch, targets)
    assert _relative_error(leaky, reference) > 1e-2
    mask = additive_mask(batch["attention_mask"], causal=True)
    assert mask.shape[-2:] == (batch["input_ids"].shape[1],) * 2
    assert float(mask[0, 0, 0, 1]) < -1e30 and float(mask[0, 0, 1, 0]) == 0.0


# ------------------------------------------------------------------------------------------------ compute
@pytest.fixture(scope="module")
def demo_decoder_dir(tmp_path_factory):
    from prune_core.tiny_decoder import _texts_of

    return build_tiny_decoder(
        tmp_path_factory.mktemp("demo-gpt2"), _texts_of(DEMO / "train.jsonl"), hidden=16
    )


@pytest.fixture(scope="module")
def generation_run(tmp_path_factory, demo_decoder_dir):
    from prune_core.pipeline import Compute, ComputeConfig, RepresentConfig
    from prune_core.store import RunStore
    from prune_core.train import TrainConfig

    config = ComputeConfig(
        dataset=DatasetSpec(str(DEMO), task="generation", limit=30, limit_validation=10, limit_test=10),
        model=str(demo_decoder_dir),
        train=TrainConfig(epochs=2, batch_size=8, max_length=96, lr=5e-3, lora=True, lora_r=4),
        represent=RepresentConfig(proj_dim=32),
        device="cpu",
    )
    store = RunStore(tmp_path_factory.mktemp("runs"))
    return Compute(config, store, show_progress=False, log=lambda _m: None).run()


def test_compute_records_response_token_dynamics_and_representations(generation_run):
    from prune_core.store import keys

    run = generation_run
    assert run.task == "generation"
    loss = run.read_array(keys.dynamics("loss"))
    p_gold = run.read_array(keys.dynamics("p_gold"))
    assert loss.shape == (30, 2) and np.isfinite(loss).all()
    np.testing.assert_allclose(p_gold, np.exp(-loss), rtol=1e-5)
    assert not run.has(keys.dynamics("margin"))  # no class margin for a sequence
    assert loss[:, 1].mean() < loss[:, 0].mean()  # the model learns the responses
    for split in ("train", "validation"):
        assert run.read_array(keys.hidden(split, "epoch-2", "cls")).shape == (
            30 if split == "train" else 10,
            16,
        )
        assert run.read_array(keys.grads(split, "epoch-2", "sgd")).shape[1] == 32
        assert (run.read_array(keys.outputs(split, "epoch-2", "tokens")) >= 1).all()
        assert not run.has(keys.outputs(split, "epoch-2", "logits"))
    assert run.has(keys.grads("train", "epoch-1", "adam"))
    scores = run.stages()["represent:epoch-2"].to_dict()["validation"]
    assert scores["perplexity"] == pytest.approx(np.exp(scores["loss"]), rel=1e-3)


# ------------------------------------------------------------------------------------------------ evaluation
def test_rouge_l_and_lower_is_better_rankings():
    import pandas as pd

    from prune_core.evaluate.generation import response_scores, rouge_l
    from prune_core.evaluate.summary import leaderboard

    assert rouge_l(["the cat sat"], ["the cat sat"]) == pytest.approx(1.0)
    assert rouge_l(["a dog ran"], ["the cat sat"]) == 0.0
    assert rouge_l(["cats sitting"], ["cat sits"]) == pytest.approx(1.0)  # stemmed, as rouge-score does
    scores = response_scores(np.array([1.0, 3.0]), np.array([3, 1]))
    assert scores["loss"] == pytest.approx(1.5) and scores["perplexity"] == pytest.approx(np.exp(1.5))
    summary = pd.DataFrame(
        {
            "mode": "fast",
            "method": ["less", "random-band", "full-data"],
            "series": ["less", "random band", "full data"],
            "balanced": False,
            "budget": [0.3, 0.3, 1.0],
            "mean": [5.0, 9.0, 4.0],
        }
    )
    board = leaderboard(summary, 0.3, lower_is_better=True)
    assert board["method"].tolist() == ["full-data", "less", "random-band"]
    assert board.loc[board["method"] == "less", "vs_random"].item() == -4.0


def test_evaluation_fine_tunes_each_subset_and_scores_held_out_responses(generation_run):
    from prune_core.evaluate import evaluate_run

    report = evaluate_run(
        generation_run,
        ["less"],
        [0.5],
        mode="fast",
        variants=("plain",),
        baselines=False,
        device="cpu",
        rouge_sample=3,
        show_progress=False,
        log=lambda _m: None,
    )
    row = report.table.iloc[0]
    assert row["size"] == 15 and row["steps"] == 2 * 2  # two epochs of two batches of 8
    for split in ("validation", "test"):
        assert row[f"{split}_perplexity"] == pytest.approx(np.exp(row[f"{split}_loss"]))
        assert 0.0 <= row[f"{split}_rouge_l"] <= 1.0


def test_chats_use_the_tokenizers_chat_template_when_it_has_one(tmp_path, decoder_dir):
    from prune_core.prompt_data import chat_template_renderer

    tokenizer = load_causal_lm(str(decoder_dir)).tokenizer
    assert chat_template_renderer(tokenizer) is None  # no template: the plain one is used
    tokenizer.chat_template = (
        "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}[assistant] {% endif %}"
    )
    chat = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    path = _write_jsonl(tmp_path / "train.jsonl", [{"messages": chat, "id": f"c{i}"} for i in range(4)])
    data = load_dataset(
        DatasetSpec(str(path), task="generation", validation_fraction=0.25), chat_template_renderer(tokenizer)
    )
    assert data.examples["text"].iloc[0] == "[user] Hi\n[assistant] "
    assert data.examples["response"].iloc[0] == "Hello" and data.label_names == ["all"]


def test_methods_json_says_for_every_method_id_whether_it_applies_to_generation(capsys):
    from prune_core.cli import main

    assert main(["methods", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    presets = {m["id"]: m for m in listing["presets"]}
    assert presets["less"]["tasks"] == ["classification", "generation"]
    assert (
        presets["el2n"]["tasks"] == ["classification"]
        and "class" in presets["el2n"]["not_applicable"]["generation"]
    )
    assert set(listing["grid_tasks"]) == set(listing["grid"])
    assert "generation" in listing["grid_tasks"]["kcenter@grad"]["tasks"]


def test_step_capture_gives_the_loops_response_token_gradients_under_lora(llama_dir):
    """The in-training capture (represent/step_capture.py) with the generation task's loss: one batched
    backward equals the batch-size-1 loop through the capture's own projection."""
    from prune_core.represent.features import capture_features
    from prune_core.represent.step_capture import StepCapture

    loaded = load_causal_lm(str(llama_dir), seed=1)
    model = apply_lora(loaded.model, r=4, alpha=8, dropout=0.0, task_type="CAUSAL_LM")
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0, 0.1)
    model.eval()
    names = gradient_parameter_names(model, "trainable")
    encoded = _encoded_batch(loaded.tokenizer)
    capture = StepCapture(model, names, dim=48, seed=5, factor_dim=8)
    got = capture_features(
        model, capture, encoded, np.zeros(len(encoded)), "cpu", batch_size=3, task=GENERATION
    )
    reference = _loop_gradients(model, names, encoded)
    named, offset, full = dict(model.named_parameters()), 0, {}
    for name in names:  # the flat [B, P] rows back into {name: [B, *shape]}
        size = named[name].numel()
        full[name] = reference[:, offset : offset + size].reshape(len(encoded), *named[name].shape)
        offset += size
    assert _relative_error(torch.as_tensor(got["sgd"]), capture.projection.project_full(full)) <= 1e-4
    np.testing.assert_allclose(got["norm"], torch.linalg.vector_norm(reference, dim=1).numpy(), rtol=1e-4)
    assert got["loss"].shape == (len(encoded),) and "logits" not in got
