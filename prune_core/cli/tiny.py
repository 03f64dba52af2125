"""`tiny-decoder`: a small random causal LM with a tokenizer trained on your data (offline demos, tests)."""

from __future__ import annotations


def add_tiny_decoder(sub) -> None:
    p = sub.add_parser(
        "tiny-decoder",
        help="write a tiny random decoder + a tokenizer trained on data files (offline generation demos)",
        description="Build a small randomly initialised causal LM (GPT-2 or Llama architecture) and a "
        "byte-level BPE tokenizer trained on the prompt/response/text columns of the given files; "
        "nothing is downloaded. Use the folder as --model with compute --task generation.",
    )
    p.add_argument("out", help="folder to write the model and tokenizer to")
    p.add_argument("data", nargs="+", help="files whose prompt/response/text columns train the tokenizer")
    p.add_argument("--arch", choices=["gpt2", "llama"], default="gpt2")
    p.add_argument("--hidden", type=int, default=64, help="hidden size")
    p.add_argument("--layers", type=int, default=2, help="transformer blocks")
    p.set_defaults(func=cmd_tiny_decoder)


def cmd_tiny_decoder(args) -> int:
    from pathlib import Path

    from prune_core.tiny_decoder import _texts_of, build_tiny_decoder

    texts = [t for path in args.data for t in _texts_of(Path(path))]
    path = build_tiny_decoder(args.out, texts, arch=args.arch, hidden=args.hidden, layers=args.layers)
    print(path)
    return 0
