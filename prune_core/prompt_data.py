"""Read the columns of a generation dataset: prompt + response pairs or chat ``messages``, and a source.

A row is either a ``prompt`` and a ``response`` (column names configurable), used exactly as written and
concatenated prompt-then-response (so the prompt carries its own separator, e.g. Du et al.'s
``"<dialogue>\\ntl;dr\\n"``), or a ``messages`` list of ``{"role", "content"}`` whose last message is the
assistant's reply: the reply is the response, everything before it the prompt, rendered by the
tokenizer's chat template when it has one, else by :func:`plain_chat_prompt`.

The optional source column (``source``, else ``category``, or one named with ``--source-column``) says
where each example comes from (which task or data set of an instruction mix); it plays the label's part
in balance and ``--balanced``. Without one every example has the source ``all``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from prune_core.data_readers import DataError, SourceTable

MessageRenderer = Callable[[list[dict]], str]
NO_SOURCE = "all"
_SOURCE_DEFAULTS = ("source", "category")


@dataclass
class GenerationColumns:
    """One split's validated values in file order (the attribute names ``data.py`` reads for any task)."""

    texts: list[str]  # prompts
    responses: list[str]
    labels: list[str]  # sources as written
    ids: list[str] | None
    id_column: str | None
    pairs: None = None


def plain_chat_prompt(messages: list[dict]) -> str:
    """The documented fallback chat template: ``<|role|>\\ncontent\\n`` per message, then ``<|assistant|>\\n``.

    This is the Tulu format of Wang et al. (2023), "How Far Can Camels Go?", NeurIPS, which LESS (Xia et
    al. 2024, ICML) trains with; the response follows the final ``<|assistant|>\\n`` directly.
    """
    return "".join(f"<|{m['role']}|>\n{m['content']}\n" for m in messages) + "<|assistant|>\n"


def chat_template_renderer(tokenizer) -> MessageRenderer | None:
    """The tokenizer's own chat template as a prompt renderer, or None when it has none."""
    if not getattr(tokenizer, "chat_template", None):
        return None

    def render(messages: list[dict]) -> str:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    return render


def generation_source_column(table: SourceTable, spec) -> str | None:
    """The source column in use: the one named, else ``source``, else ``category``, else none."""
    if spec.source_column is not None:
        return spec.source_column
    return next((c for c in _SOURCE_DEFAULTS if c in table.frame.columns), None)


def read_generation_columns(
    table: SourceTable, spec, render: MessageRenderer | None = None
) -> GenerationColumns:
    """Validated prompts, responses, sources and ids of one split (errors name file, row and column)."""
    frame = table.frame
    if len(frame) == 0:
        raise table.error(None, None, "no data rows; expected a header and at least one example")
    source_column = generation_source_column(table, spec)
    pair = spec.prompt_column in frame.columns or spec.response_column in frame.columns
    if not pair and spec.messages_column not in frame.columns:
        found = ", ".join(map(str, frame.columns))
        raise DataError(
            f"missing columns; expected {spec.prompt_column!r} and {spec.response_column!r} "
            f"(--prompt-column, --response-column) or a chat list {spec.messages_column!r} "
            f"(--messages-column); found columns {found}",
            path=table.name,
            line=table.header_line,
        )
    wanted = {"source-column": source_column, "id-column": spec.id_column}
    if pair:
        wanted |= {"prompt-column": spec.prompt_column, "response-column": spec.response_column}
    for flag, column in wanted.items():
        if column is not None and column not in frame.columns:
            found = ", ".join(map(str, frame.columns))
            raise DataError(
                f"missing column; found columns {found} (name another with --{flag})",
                path=table.name,
                line=table.header_line,
                column=column,
            )
    if pair:
        prompts = _strings(table, spec.prompt_column, "prompt", strip_ok=False)
        responses = _strings(table, spec.response_column, "response", strip_ok=False)
    else:
        prompts, responses = _from_messages(table, spec.messages_column, render or plain_chat_prompt)
    sources = _strings(table, source_column, "source") if source_column else [NO_SOURCE] * len(frame)
    id_column = spec.id_column or ("id" if "id" in frame.columns else None)
    ids = _ids(table, id_column) if id_column else None
    return GenerationColumns(prompts, responses, [s.strip() for s in sources], ids, id_column)


def source_index(sources: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """Source names (sorted) and name -> index; one source is fine (there is no classifier to train)."""
    names = sorted(set(sources))
    return names, {name: i for i, name in enumerate(names)}


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _strings(table: SourceTable, column: str, what: str, strip_ok: bool = True) -> list[str]:
    """Non-empty strings (a response of only whitespace teaches nothing, so it is refused too)."""
    values = table.frame[column].tolist()
    for row, value in enumerate(values, 1):
        if isinstance(value, str) and value.strip():
            continue
        if isinstance(value, str):
            problem = f"empty {what}" if value == "" else f"the {what} is only whitespace"
        elif _missing(value):
            problem = f"missing {what} (null or no value)"
        else:
            problem = f"expected text, found {type(value).__name__} {value!r:.60}"
        raise table.error(row, column, problem + "; expected a non-empty string")
    return values


def _ids(table: SourceTable, column: str) -> list[str]:
    out = []
    for row, value in enumerate(table.frame[column].tolist(), 1):
        if isinstance(value, str) and value.strip():
            out.append(value)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
            out.append(str(int(value)))
        else:
            raise table.error(
                row, column, f"expected an id (non-empty text or a whole number), found {value!r:.60}"
            )
    return out


def _as_messages(value: object) -> object:
    """A messages cell as a list: JSON lines give lists, Parquet gives arrays, CSV gives JSON text."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if isinstance(value, np.ndarray):
        return list(value)
    return value


def _from_messages(table: SourceTable, column: str, render: MessageRenderer) -> tuple[list[str], list[str]]:
    """Prompt (rendered) and response (the last assistant message) of every row's chat."""
    prompts, responses = [], []
    for row, raw in enumerate(table.frame[column].tolist(), 1):
        messages = _as_messages(raw)
        if not isinstance(messages, list) or not messages:
            raise table.error(
                row, column, f"expected a non-empty list of messages, found {type(raw).__name__} {raw!r:.60}"
            )
        clean = []
        for i, message in enumerate(messages, 1):
            role = message.get("role") if isinstance(message, dict) else None
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(role, str) or not isinstance(content, str):
                raise table.error(
                    row, column, f"message {i}: expected an object with text 'role' and 'content'"
                )
            clean.append({"role": role, "content": content})
        if clean[-1]["role"] != "assistant":
            raise table.error(
                row,
                column,
                f"the last message has role {clean[-1]['role']!r}; expected the assistant's reply "
                "(it is the response the model learns)",
            )
        if not clean[-1]["content"].strip():
            raise table.error(row, column, "empty response: the last (assistant) message has no text")
        if len(clean) < 2:
            raise table.error(row, column, "only a reply; expected at least one message before it")
        prompts.append(render(clean[:-1]))
        responses.append(clean[-1]["content"])
    return prompts, responses
