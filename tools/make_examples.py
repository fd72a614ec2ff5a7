#!/usr/bin/env python3
"""Writes the small example data sets in examples/ (the README's quick start): two-number sums, the demo's task.

sft.jsonl      prompt-completion rows        {"prompt": "23+19=", "completion": "42"}
pairs.jsonl    preference rows               {"prompt": "23+19=", "chosen": "42", "rejected": "42 is it"}
prompts.jsonl  prompt-only rows, with the answer for accuracy_reward   {"prompt": "23+19=", "solution": "42"}

Deterministic (random.Random(7)); plain Python 3, no packages. Run from the repository root:
    python3 tools/make_examples.py
"""
import json
import random

CHATTER = [" is it", " I think", " for sure", ", easy"]


def sums(rng, n):
    return [(rng.randint(0, 49), rng.randint(0, 49)) for _ in range(n)]


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def main():
    rng = random.Random(7)
    write("examples/sft.jsonl", [{"prompt": f"{a}+{b}=", "completion": str(a + b)} for a, b in sums(rng, 200)])
    pairs = []
    for a, b in sums(rng, 200):
        right = str(a + b)
        # half the rejected answers are wrong sums, half the right sum with chatter after it
        rejected = str(a + b + rng.choice([-2, -1, 1, 2])) if rng.random() < 0.5 else right + rng.choice(CHATTER)
        pairs.append({"prompt": f"{a}+{b}=", "chosen": right, "rejected": rejected})
    write("examples/pairs.jsonl", pairs)
    write("examples/prompts.jsonl", [{"prompt": f"{a}+{b}=", "solution": str(a + b)} for a, b in sums(rng, 100)])


if __name__ == "__main__":
    main()
