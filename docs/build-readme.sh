#!/usr/bin/env bash
# Assembles README.md from docs/readme-head.md and the per-area parts.
set -euo pipefail
cd "$(dirname "$0")"
{
  cat readme-head.md
  for part in gui gui-tools model tokenizer sae attribution featuredb formats; do
    [ -f "readme-parts/$part.md" ] && { echo; cat "readme-parts/$part.md"; }
  done
  echo
  cat readme-tail.md 2>/dev/null || true
} > ../README.md
