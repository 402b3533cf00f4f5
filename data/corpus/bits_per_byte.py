#!/usr/bin/env python3
"""Bits per byte of a model on a JSONL corpus (default: the held-out english_eval split), per source and overall.

    data/corpus/bits_per_byte.py --cli build/bin/zscope-cli --model data/models/zscope-2l \
        [--corpus data/corpus/out/english_eval.jsonl] [--json]

bits/byte = total cross-entropy in nats / ln 2 / total UTF-8 bytes of the documents' text.

The cross-entropy comes from `zscope-cli induction --corpus FILE --val-tokens 0 --json`: the documents are
concatenated, separated by <|endoftext|> (BOS), and cut into windows of BOS + (n_positions - 1) tokens; every
token of the stream is predicted once (the documents' tokens and the separators), each with the context since
the start of its window. Its `val_loss` is the mean over the full windows; the short tail after the last full
window (< n_positions tokens) is not scored, so the total is taken as val_loss * T, where T = the stream's length
(the documents' tokens plus one separator between documents, counted by `zscope-cli tokenize` on the
documents joined by <|endoftext|>): the tail is assumed to cost the mean.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile


THREADS = 1
EOT = "<|endoftext|>"


def token_count(cli, model, text, tmp):
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    out = subprocess.run([cli, "tokenize", "--model", model, "--text-file", tmp, "--json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["count"]


def measure(cli, model, docs, workdir, name):
    path = os.path.join(workdir, name + ".jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    # The tokenizer splits at <|endoftext|> and encodes the pieces on their own, as the windows do.
    stream = token_count(cli, model, EOT.join(d["text"] for d in docs), os.path.join(workdir, "stream.txt"))
    tokens = stream - (len(docs) - 1)
    nbytes = sum(len(d["text"].encode("utf-8")) for d in docs)
    r = subprocess.run([cli, "induction", "--model", model, "--corpus", path, "--val-tokens", "0", "--json",
                        "--threads", str(THREADS), "--quiet"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"zscope-cli induction failed on {name}: {r.stderr.strip()}")
    j = json.loads(r.stdout)
    loss = j["val_loss"]
    return {"source": name, "documents": len(docs), "bytes": nbytes, "tokens": tokens,
            "bytes_per_token": nbytes / tokens, "stream_tokens": stream, "scored_tokens": j["val_tokens"],
            "ce_nats_per_token": loss,
            "bits_per_byte": loss * stream / math.log(2) / nbytes}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cli", default="zscope-cli")
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "out",
                                                      "english_eval.jsonl"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    global THREADS
    THREADS = a.threads
    docs = [json.loads(line) for line in open(a.corpus, encoding="utf-8") if line.strip()]
    sources = sorted({d["source"] for d in docs})
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for s in sources:
            rows.append(measure(a.cli, a.model, [d for d in docs if d["source"] == s], work, s))
    # Overall: the per-source totals added up (the same as one run over the documents grouped by source,
    # up to the windows that straddle two sources).
    ce = sum(r["ce_nats_per_token"] * r["stream_tokens"] for r in rows)
    nbytes = sum(r["bytes"] for r in rows)
    tokens = sum(r["tokens"] for r in rows)
    rows.append({"source": "all", "documents": len(docs), "bytes": nbytes, "tokens": tokens,
                 "bytes_per_token": nbytes / tokens, "stream_tokens": sum(r["stream_tokens"] for r in rows),
                 "scored_tokens": sum(r["scored_tokens"] for r in rows),
                 "ce_nats_per_token": ce / sum(r["stream_tokens"] for r in rows),
                 "bits_per_byte": ce / math.log(2) / nbytes})
    if a.json:
        print(json.dumps({"model": a.model, "corpus": a.corpus, "rows": rows}, indent=1))
        return
    print(f"{'source':12s} {'docs':>5s} {'bytes':>9s} {'tokens':>8s} {'B/tok':>6s} {'CE/tok':>7s} {'bits/B':>7s}")
    for r in rows:
        print(f"{r['source']:12s} {r['documents']:5d} {r['bytes']:9d} {r['tokens']:8d} {r['bytes_per_token']:6.2f} "
              f"{r['ce_nats_per_token']:7.3f} {r['bits_per_byte']:7.3f}")


if __name__ == "__main__":
    main()
