"""Reference fine-tuning: the schedule, the free dynamics recorder, determinism per epoch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from prune_core.models import load_classifier
from prune_core.tokenize import encode
from prune_core.train import (
    DynamicsRecorder,
    TrainConfig,
    TrainState,
    epoch_order,
    learning_rate,
    make_optimizer,
    train_reference,
)

TEXTS = [
    "a fine movie",
    "dull and lifeless",
    "i loved every minute",
    "a waste of time",
    "brilliant acting",
    "boring plot",
    "wonderful",
    "awful",
    "charming and funny",
    "tedious mess",
] * 3
LABELS = np.array([1, 0, 1, 0, 1, 0, 1, 0, 1, 0] * 3)


def test_learning_rate_warms_up_linearly_then_decays_to_zero():
    rates = [learning_rate(s, 10, 1.0, 0.2) for s in range(10)]
    assert rates[:2] == [0.5, 1.0]
    assert rates[2] == pytest.approx(1.0) and rates[-1] == pytest.approx(1 / 8)
    assert all(a >= b for a, b in zip(rates[1:], rates[2:]))


def test_epoch_order_is_a_permutation_that_depends_only_on_seed_and_epoch():
    assert sorted(epoch_order(10, 0, 3)) == list(range(10))
    np.testing.assert_array_equal(epoch_order(10, 0, 3), epoch_order(10, 0, 3))
    assert not np.array_equal(epoch_order(10, 0, 3), epoch_order(10, 0, 4))


def test_recorder_derives_every_quantity_from_the_same_logits():
    recorder = DynamicsRecorder(n=3, epochs=2)
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 3.0], [1.0, 1.0, 0.0]])
    labels = torch.tensor([0, 1, 2])
    losses = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    recorder.record(1, torch.tensor([2, 0, 1]), logits, labels, losses)
    arrays = recorder.arrays()
    # example 2 received row 0: gold logit 2, best other 0 -> margin 2, correct
    assert arrays["margin"][2, 1] == pytest.approx(2.0) and arrays["correct"][2, 1] == 1
    # example 0 received row 1: gold 1, best other 3 -> margin -2, wrong
    assert arrays["margin"][0, 1] == pytest.approx(-2.0) and arrays["correct"][0, 1] == 0
    np.testing.assert_allclose(arrays["loss"][:, 1], -np.log(arrays["p_gold"][:, 1]), rtol=1e-5)
    # CCS's probability margin: p(gold) minus the largest other probability, from the same softmax
    probs = torch.softmax(logits, dim=1).numpy()
    assert arrays["prob_margin"][2, 1] == pytest.approx(probs[0, 0] - probs[0, 1], abs=1e-6)
    assert arrays["prob_margin"][0, 1] == pytest.approx(probs[1, 1] - probs[1, 2], abs=1e-6)
    assert np.isnan(arrays["p_gold"][:, 0]).all()  # epoch 0 was never recorded


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    loaded = load_classifier(str(tiny_model_dir), 2, seed=0)
    return loaded, encode(loaded.tokenizer, TEXTS, None, 32)


def fresh_model(tiny_model_dir):
    return load_classifier(str(tiny_model_dir), 2, seed=0).model


def test_recorder_adds_no_forward_pass(tiny_model_dir, tiny):
    _, encoded = tiny
    model = fresh_model(tiny_model_dir)
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    config = TrainConfig(epochs=2, batch_size=8, lr=1e-3)
    recorder = DynamicsRecorder(len(encoded), config.epochs)
    train_reference(model, encoded, LABELS, config, torch.device("cpu"), recorder=recorder)
    assert len(calls) == 2 * int(np.ceil(len(TEXTS) / 8))
    arrays = recorder.arrays()
    assert all(np.isfinite(a).all() for a in arrays.values())
    assert arrays["p_gold"].shape == (len(TEXTS), 2)


def test_training_is_deterministic_and_resumes_exactly_at_an_epoch_boundary(tiny_model_dir, tiny):
    _, encoded = tiny
    config = TrainConfig(epochs=3, batch_size=8, lr=1e-3, seed=5)
    device = torch.device("cpu")

    straight = fresh_model(tiny_model_dir)
    rec_straight = DynamicsRecorder(len(encoded), 3)
    train_reference(straight, encoded, LABELS, config, device, recorder=rec_straight)

    interrupted = fresh_model(tiny_model_dir)
    rec_first = DynamicsRecorder(len(encoded), 3)
    saved = {}

    def stop_after_first(end, optimizer):
        if end.epoch == 1:
            saved["weights"] = {k: v.clone() for k, v in interrupted.state_dict().items()}
            saved["optimizer"] = {
                id_: {k: (v.clone() if torch.is_tensor(v) else v) for k, v in s.items()}
                for id_, s in enumerate(optimizer.state.values())
            }
            saved["step"] = end.step
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_reference(
            interrupted, encoded, LABELS, config, device, recorder=rec_first, on_epoch_end=stop_after_first
        )

    resumed = fresh_model(tiny_model_dir)
    resumed.load_state_dict(saved["weights"])
    optimizer = make_optimizer(resumed, config)
    for param, state in zip(
        [p for p in resumed.parameters() if p.requires_grad], saved["optimizer"].values()
    ):
        optimizer.state[param] = state
    rec_resumed = DynamicsRecorder(len(encoded), 3)
    rec_resumed.load({k: v.clone() for k, v in rec_first.buffers.items()})
    train_reference(
        resumed,
        encoded,
        LABELS,
        config,
        device,
        optimizer=optimizer,
        recorder=rec_resumed,
        state=TrainState(epoch=1, step=saved["step"]),
    )

    for (_name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    for name in DynamicsRecorder.FIELDS:
        np.testing.assert_allclose(
            rec_straight.arrays()[name], rec_resumed.arrays()[name], rtol=1e-6, atol=1e-7
        )


def test_bad_training_config_is_rejected_with_the_value():
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        TrainConfig(epochs=0).validate()
    with pytest.raises(ValueError, match="learning rate"):
        TrainConfig(lr=5).validate()


def test_max_steps_repeats_epochs_and_stops_at_the_step_budget(tiny_model_dir, tiny):
    _, encoded = tiny
    model = fresh_model(tiny_model_dir)
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    config = TrainConfig(epochs=1, batch_size=8, lr=1e-3)
    per_epoch = int(np.ceil(len(TEXTS) / 8))
    state = train_reference(model, encoded, LABELS, config, torch.device("cpu"), max_steps=2 * per_epoch + 1)
    assert state.step == len(calls) == 2 * per_epoch + 1
    assert state.epoch == 3  # two whole passes and one cut short after its first batch
