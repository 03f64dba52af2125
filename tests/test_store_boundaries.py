"""The run store's layout stays inside ``prune_core/store/``: no storage key is written as a string, no key
is taken apart by splitting on "/", and no code reads the manifest outside the store.

Keys and stage names are built and parsed by ``prune_core/store/keys.py``; the manifest is read through
``Run``'s typed accessors (and, in the app, through ``prune_core.results.Results``). A line that breaks
these rules is listed with its file and line number.
"""

from __future__ import annotations

import re

import pytest

from prune_core.paths import REPO_ROOT

KEY_KINDS = "selections|rankings|scores|dynamics|hidden|outputs|head_input|grads|grad_norms|maps|evaluation|checkpoints|shards"
STORE_CALLS = (
    "has|read_array|read_json|read_table|write_array|write_table|write_json|file_info|array_meta|keys|files|"
    "forget_files|stage_files|checksum|stage|stages|stage_record|stage_status|begin_stage|finish_stage|"
    "fail_stage|stage_is_done"
)
RULES = {
    "storage key written as a string (use prune_core.store.keys)": re.compile(
        rf"""(?<![\w`])[fFrR]?["']({KEY_KINDS})/"""
    ),
    "literal key or stage name passed to the store (use prune_core.store.keys)": re.compile(
        rf"""\.({STORE_CALLS})\(\s*[fFrR]?["']"""
    ),
    "literal stage name (use prune_core.store.keys)": re.compile(r"""\bstage=\s*[fFrR]?["']"""),
    "key taken apart by splitting on '/' (use prune_core.store.keys.parse)": re.compile(
        r"""\.split\(\s*["']/["']"""
    ),
    "manifest read outside the store (use Run's accessors or Results)": re.compile(
        r"""(?<!export)\.manifest\b(?!\.json)|\bMANIFEST\b"""
    ),
}
SCANNED = ("prune_core", "app", "bench")


def violations(text: str) -> list[tuple[int, str, str]]:
    return [
        (number, rule, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        for rule, pattern in RULES.items()
        if pattern.search(line)
    ]


@pytest.mark.parametrize(
    "line",
    [
        'run.read_array(f"selections/{method}/plain")',
        'key = f"hidden/{split}/{checkpoint}/cls"',
        "return 'dynamics/train/p_gold'",
        'run.has("examples")',
        'run.write_table("scores", frame, stage=stage)',
        'run.stage_record("train").seconds',
        'run.write_array(key, array, stage="train")',
        'representation = key.split("/")[1]',
        'stages = run.manifest.get("stages", {})',
        "manifest = json.loads((run.path / MANIFEST).read_text())",
    ],
)
def test_each_rule_catches_the_pattern_it_forbids(line):
    assert violations(line)


@pytest.mark.parametrize(
    "line",
    [
        "run.read_array(keys.selection(method, balanced))",
        'manifest = {**export.manifest, "format": fmt}',
        'return path.with_name(f"{path.stem}.manifest.json")',
        "``maps/<representation>/<umap|pca>`` in a docstring",
        'text.split(",")',
    ],
)
def test_the_rules_leave_key_module_calls_and_export_manifests_alone(line):
    assert not violations(line)


def test_no_storage_key_string_and_no_manifest_access_outside_the_store():
    found = []
    for folder in SCANNED:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            relative = path.relative_to(REPO_ROOT)
            if relative.parts[:2] == ("prune_core", "store"):
                continue
            found += [f"{relative}:{n}: {rule}: {line}" for n, rule, line in violations(path.read_text())]
    assert not found, "\n".join(found)
