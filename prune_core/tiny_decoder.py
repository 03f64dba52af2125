"""A small randomly initialised causal LM and a tokenizer trained on given texts, saved as a model folder.

For tests and offline demos: nothing is downloaded. The tokenizer is a byte-level BPE trained with the
``tokenizers`` library on the texts it will read; the model is a GPT-2 or Llama architecture from a
``transformers`` config with a few small layers. ``--model <folder>`` then loads it through the same
``AutoModelForCausalLM`` path as ``facebook/opt-125m`` or ``EleutherAI/pythia-70m``.

    prunescope tiny-decoder OUT_DIR DATA.jsonl [--arch gpt2|llama]
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

EOS = "<|endoftext|>"
PAD = "<|pad|>"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512):
    """A byte-level BPE ``PreTrainedTokenizerFast`` with EOS and PAD tokens, trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS, PAD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, eos_token=EOS, bos_token=EOS, pad_token=PAD)


def build_tiny_decoder(
    out: str | Path,
    texts: Iterable[str],
    *,
    arch: str = "gpt2",
    hidden: int = 32,
    layers: int = 2,
    heads: int = 2,
    vocab_size: int = 512,
    max_positions: int = 256,
    seed: int = 0,
) -> Path:
    """Save a tiny ``arch`` decoder (random weights, seeded) and its trained tokenizer to ``out``."""
    import torch
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    out = Path(out)
    tokenizer = train_tokenizer(texts, vocab_size)
    common = {
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.eos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if arch == "gpt2":
        config = GPT2Config(n_embd=hidden, n_layer=layers, n_head=heads, n_positions=max_positions, **common)
    elif arch == "llama":
        config = LlamaConfig(
            hidden_size=hidden,
            intermediate_size=2 * hidden,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            max_position_embeddings=max_positions,
            **common,
        )
    else:
        raise ValueError(f"--arch: expected gpt2 or llama, found {arch!r}")
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _texts_of(path: Path) -> list[str]:
    from prune_core.data_readers import read_table

    frame = read_table(path)
    columns = [c for c in ("prompt", "response", "text") if c in frame.columns]
    return [str(v) for c in columns for v in frame[c].tolist()]
