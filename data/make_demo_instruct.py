"""Write the demo instruction-tuning set: prompt/response pairs from five synthetic sources.

All content is generated here from small word lists and templates (our own, so the files may be
redistributed under the repository's licence). The sources differ in size on purpose (an instruction
mix is never balanced) and in difficulty: ``arithmetic`` and ``uppercase`` are rule-like, ``summarize``
asks for a one-sentence summary of a short generated story, ``qa`` answers from a given fact, and
``classify`` names the sentiment of a generated review. Deterministic: the same files every run.

    python data/make_demo_instruct.py [OUT_DIR]   # default: data/demo_instruct
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

NAMES = ["Ada", "Bo", "Cyd", "Dee", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jo", "Kai", "Lu"]
PLACES = ["the market", "the lake", "the library", "the hills", "the harbour", "the garden", "the station"]
THINGS = ["a red kite", "an old map", "a blue cup", "a small dog", "a paper boat", "a brass key", "a lamp"]
FEELINGS = ["happy", "tired", "curious", "worried", "proud", "calm"]
GOOD = ["great", "lovely", "excellent", "wonderful", "superb"]
BAD = ["awful", "boring", "terrible", "dull", "poor"]
PRODUCTS = ["phone", "film", "book", "meal", "hotel", "game"]
SIZES = {"summarize": 90, "qa": 70, "arithmetic": 50, "classify": 40, "uppercase": 30}


def summarize(rng: random.Random) -> tuple[str, str]:
    who, where, what, feel = rng.choice(NAMES), rng.choice(PLACES), rng.choice(THINGS), rng.choice(FEELINGS)
    story = (
        f"{who} walked to {where} in the morning. On the way, {who} found {what}. "
        f"{who} picked it up and felt {feel}. Later {who} went home."
    )
    return f"{story}\ntl;dr\n", f"{who} found {what} near {where} and felt {feel}."


def qa(rng: random.Random) -> tuple[str, str]:
    who, where = rng.choice(NAMES), rng.choice(PLACES)
    return f"Fact: {who} lives near {where}.\nQuestion: Where does {who} live?\nAnswer: ", f"Near {where}."


def arithmetic(rng: random.Random) -> tuple[str, str]:
    a, b = rng.randint(2, 60), rng.randint(2, 60)
    if rng.random() < 0.5:
        return f"What is {a} plus {b}?\nAnswer: ", f"{a + b}"
    return f"What is {max(a, b)} minus {min(a, b)}?\nAnswer: ", f"{max(a, b) - min(a, b)}"


def classify(rng: random.Random) -> tuple[str, str]:
    good = rng.random() < 0.5
    word, product = rng.choice(GOOD if good else BAD), rng.choice(PRODUCTS)
    review = f"The {product} was {word}, and I would {'gladly' if good else 'never'} try it again."
    return f"Review: {review}\nIs this review positive or negative?\n", "positive" if good else "negative"


def uppercase(rng: random.Random) -> tuple[str, str]:
    words = " ".join(rng.sample(["sun", "tree", "river", "stone", "cloud", "bird", "road", "song"], 3))
    return f"Write in capital letters: {words}\n", words.upper()


MAKERS = {
    "summarize": summarize,
    "qa": qa,
    "arithmetic": arithmetic,
    "classify": classify,
    "uppercase": uppercase,
}


def rows(split: str, scale: float, seed: int) -> list[dict]:
    """One split's rows, sources interleaved in a seeded order."""
    rng = random.Random(f"{seed}-{split}")
    out = []
    for source, size in SIZES.items():
        for i in range(max(2, round(size * scale))):
            prompt, response = MAKERS[source](rng)
            out.append(
                {"id": f"{split}-{source}-{i:03d}", "prompt": prompt, "response": response, "source": source}
            )
    rng.shuffle(out)
    return out


def write(out_dir: Path, seed: int = 0) -> dict[str, int]:
    """Write train/validation/test JSONL files; returns the rows per split."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = {}
    for split, scale in (("train", 1.0), ("validation", 0.2), ("test", 0.2)):
        data = rows(split, scale, seed)
        (out_dir / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
        sizes[split] = len(data)
    return sizes


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "demo_instruct"
    print(f"wrote {write(target)} rows to {target}")
