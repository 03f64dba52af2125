"""Golden selections: every preset's subsets on a fixed synthetic run, pinned to a recorded file.

Refactors of the registry, the selectors or the store must not change what a method selects. A change
made on purpose (a preset corrected to follow its authors' code) is recorded again with

    PRUNESCOPE_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_selections.py

and named, with its reason, in the commit that does it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from prune_core.methods import PRESETS, Representations, get_method
from prune_core.methods.runner import MethodRunner
from prune_core.store import RunStore
from prune_core.synthetic import make_synthetic_run

GOLDEN = Path(__file__).parent / "golden" / "preset_selections.json"
BUDGETS = (0.1, 0.3, 0.5)


@pytest.fixture(scope="module")
def selections(tmp_path_factory) -> dict[str, dict[str, dict[str, list[str]]]]:
    store = RunStore(tmp_path_factory.mktemp("golden"))
    run = make_synthetic_run(store, n=160, m=40, num_labels=3, seed=7)
    reps = Representations(run)
    uids = reps.uids
    runner = MethodRunner(reps, BUDGETS)
    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    for method_id in sorted(PRESETS):
        result = runner.run(get_method(method_id))
        out[method_id] = {
            variant: {f"{b:.2f}": sorted(uids[i] for i in chosen) for b, chosen in zip(BUDGETS, per_budget)}
            for variant, per_budget in result.selections.items()
        }
    return out


def test_every_preset_selects_what_the_golden_file_records(selections):
    if os.environ.get("PRUNESCOPE_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(selections, indent=1, sort_keys=True) + "\n")
    golden = json.loads(GOLDEN.read_text())
    changed = sorted(
        f"{m}/{variant}@{b}"
        for m in golden
        for variant in golden[m]
        for b in golden[m][variant]
        if selections.get(m, {}).get(variant, {}).get(b) != golden[m][variant][b]
    )
    assert not changed, f"selections differ from {GOLDEN.name}: {changed}"
    assert set(selections) >= set(golden), f"presets missing: {sorted(set(golden) - set(selections))}"
