#!/usr/bin/env bash
# Builds Zscope's training corpus from freely licensed English prose and code
# that Debian 12 packages install (list: packages.txt next to this script;
# sources and licences: data/README.md). Output: OUT/{train,validation,test}.jsonl,
# one document per line {"id", "source", "text"}, split deterministically by a
# hash of the document id (96% / 2% / 2%), plus OUT/stats.json.
#
# usage: data/corpus/build_corpus.sh [OUT]   (default: data/corpus/out)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
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

python3 "$here/corpus_to_jsonl.py" --kjv "$kjv" --out "$out"
