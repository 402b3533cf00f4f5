#!/usr/bin/env python3
"""IOI-style check (Wang et al. 2022): in "When Mary and John went to the store, John gave a drink to", does
the model prefer the indirect object (" Mary") to the repeated subject (" John")?

    data/models/zscope-4l/ioi_check.py --cli build/bin/zscope-cli --model data/models/zscope-4l [--json]

Every template x every ordered pair of names (both orders, so neither name is favoured), scored with
`zscope-cli predict --candidates " IO| S"`: the log-probability of each name as the next token(s). Reports
the share of prompts where the indirect object is more probable, the mean log-probability difference
log p(IO) - log p(S) (> 0: IOI-like), and the mean probability given to either name.
"""
import argparse
import itertools
import json
import math
import subprocess

TEMPLATES = [
    "When {A} and {B} went to the store, {B} gave a drink to",
    "When {A} and {B} went to the park, {B} gave a ball to",
    "After {A} and {B} went to the market, {B} handed a letter to",
    "While {A} and {B} were working at the office, {B} gave a book to",
    "Then, {A} and {B} had a long argument, and afterwards {B} said to",
    "{A} and {B} had lunch together. Later, {B} sent a message to",
]
NAMES = ["Mary", "John", "Tom", "James", "Paul", "George"]  # one token each in the 12,288 vocabulary


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows, by_template = [], {t: [] for t in TEMPLATES}
    for t in TEMPLATES:
        for io, s in itertools.permutations(NAMES, 2):
            prompt = t.format(A=io, B=s)
            out = subprocess.run([a.cli, "predict", "--model", a.model, "--prompt", prompt, "--top", "1",
                                  "--candidates", f" {io}| {s}", "--json", "--threads", "1"],
                                 capture_output=True, text=True, check=True).stdout
            c = json.loads(out)["candidates"]
            rows.append({"prompt": prompt, "io": io, "s": s, "lp_io": c[0]["logprob"], "lp_s": c[1]["logprob"],
                         "io_tokens": len(c[0]["token_ids"]), "top": json.loads(out)["top"][0]["token"]})
            by_template[t].append(rows[-1])
    n = len(rows)
    wins = sum(r["lp_io"] > r["lp_s"] for r in rows)
    diff = sum(r["lp_io"] - r["lp_s"] for r in rows) / n
    either = sum(math.exp(r["lp_io"]) + math.exp(r["lp_s"]) for r in rows) / n
    per_template = {t: {"prompts": len(rs), "io_preferred": sum(r["lp_io"] > r["lp_s"] for r in rs) / len(rs),
                        "mean_logprob_diff": sum(r["lp_io"] - r["lp_s"] for r in rs) / len(rs)}
                    for t, rs in by_template.items()}
    res = {"prompts": n, "io_preferred": wins / n, "mean_logprob_diff": diff, "mean_p_either_name": either,
           "multi_token_names": sorted({r["io"] for r in rows if r["io_tokens"] > 1}),
           "per_template": per_template, "example": rows[0]}
    if a.json:
        print(json.dumps(res, indent=1))
        return
    print(f"{n} prompts: the indirect object is more probable than the subject in {100 * wins / n:.1f}%;")
    print(f"mean log p(IO) - log p(S) = {diff:+.3f} nats; mean p(either name) = {either:.4f}")
    for t, v in per_template.items():
        print(f"  {v['io_preferred'] * 100:5.1f}%  {v['mean_logprob_diff']:+.3f}  {t}")


if __name__ == "__main__":
    main()
