#!/usr/bin/env python3
"""Collects the corpus documents (called by build_corpus.sh) and writes the split JSONL.

Each document gets a stable id ("kjv/Genesis 1", "python/json/decoder.py", ...);
the split is decided by SHA-1 of that id, so it does not depend on file order,
on which other documents exist, or on the machine.
"""
import argparse
import glob
import hashlib
import json
import os
import re
import subprocess

PY = "/usr/lib/python3.11"
PYDOC = "/usr/share/doc/python3.11/html/_sources"
FORTUNES = "/usr/share/games/fortunes"
LICENSES = "/usr/share/common-licenses"
FORTUNES_PER_DOC = 40
SKIP_FORTUNE_FILES = {"ascii-art"}  # pictures, not prose


def read_text(path):
    data = open(path, "rb").read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def kjv(path):
    text = read_text(path)
    # Chapters start with a heading line such as "Genesis 1" or "1 Kings 3".
    parts = re.split(r"\n(?=(?:[1-3] )?[A-Z][a-z]+(?: [A-Za-z]+)* \d+\n)", text)
    for p in parts:
        p = p.strip("\n")
        if not p:
            continue
        title = p.split("\n", 1)[0]
        yield "kjv/" + title, "kjv", p + "\n"


def fortunes():
    for path in sorted(glob.glob(FORTUNES + "/*")):
        name = os.path.basename(path)
        if "." in name or os.path.isdir(path) or name in SKIP_FORTUNE_FILES:
            continue
        items = [f.strip("\n") for f in re.split(r"\n%\n", read_text(path)) if f.strip()]
        for k in range(0, len(items), FORTUNES_PER_DOC):
            chunk = items[k:k + FORTUNES_PER_DOC]
            yield f"fortunes/{name}/{k // FORTUNES_PER_DOC}", "fortunes", "\n\n".join(chunk) + "\n"


def python_sources():
    skip = ("site-packages", "dist-packages", "test", "tests", "idle_test")
    for root, dirs, files in os.walk(PY):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith("__"))
        for f in sorted(files):
            if f.endswith(".py"):
                path = os.path.join(root, f)
                yield "python/" + os.path.relpath(path, PY), "python-stdlib", read_text(path)


def python_docs():
    for path in sorted(glob.glob(PYDOC + "/**/*.rst.txt", recursive=True)):
        yield "pydoc/" + os.path.relpath(path, PYDOC), "python-doc", read_text(path)


def licenses():
    for path in sorted(glob.glob(LICENSES + "/*")):
        if os.path.isfile(path) and not os.path.islink(path):
            yield "license/" + os.path.basename(path), "common-licenses", read_text(path)


def manpages():
    pkgs = {"manpages": None, "manpages-dev": "/man2/"}  # -dev: system calls only
    env = dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8")
    for pkg, only in pkgs.items():
        files = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True).stdout.split()
        for path in sorted(files):
            if "/man/man" not in path or not path.endswith(".gz") or os.path.islink(path):
                continue
            if only and only not in path:
                continue
            raw = subprocess.run(["man", "--nj", "--nh", "-l", path], capture_output=True, env=env).stdout
            text = subprocess.run(["col", "-bx"], input=raw, capture_output=True).stdout.decode("utf-8", "replace")
            if len(text) > 200:  # .so redirections render to (almost) nothing
                yield "man/" + os.path.basename(path)[:-3], "manpages", text


def split_of(doc_id):
    h = int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "validation" if h < 2 else "test" if h < 4 else "train"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kjv", required=True, help="KJV text as printed by `bible gen1:1-rev22:21`")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    outs = {s: open(os.path.join(a.out, s + ".jsonl.tmp"), "w", encoding="utf-8")
            for s in ("train", "validation", "test")}
    stats = {}
    seen = set()
    for gen in (kjv(a.kjv), fortunes(), python_sources(), python_docs(), licenses(), manpages()):
        for doc_id, source, text in gen:
            if doc_id in seen or not text.strip():
                continue
            seen.add(doc_id)
            s = split_of(doc_id)
            outs[s].write(json.dumps({"id": doc_id, "source": source, "text": text}, ensure_ascii=False) + "\n")
            st = stats.setdefault(source, {"train": [0, 0], "validation": [0, 0], "test": [0, 0]})
            st[s][0] += 1
            st[s][1] += len(text.encode("utf-8"))
    for s, f in outs.items():
        f.close()
        os.replace(os.path.join(a.out, s + ".jsonl.tmp"), os.path.join(a.out, s + ".jsonl"))
    table = {src: {s: {"documents": v[0], "bytes": v[1]} for s, v in d.items()} for src, d in stats.items()}
    with open(os.path.join(a.out, "stats.json"), "w") as f:
        json.dump(table, f, indent=1)
    for src, d in table.items():
        print(f"{src:16s} " + "  ".join(f"{s} {v['documents']} docs {v['bytes'] / 1e6:.2f} MB" for s, v in d.items()))


if __name__ == "__main__":
    main()
