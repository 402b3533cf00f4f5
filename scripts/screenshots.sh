#!/usr/bin/env bash
# Renders the README screenshots of the explorer from the real app under Xvfb:
# a real prompt, the strongest feature at the last token selected, the RDFA
# tree expanded two levels. Uses the shipped default model and its SAEs when
# present (data/models/zscope-4l, data/saes/zscope-4l), else the tiny test
# model from ../shared with random SAEs (clearly a stand-in).
#
#   scripts/screenshots.sh [BUILD_DIR]      (default: build)
#   ZSCOPE_DB=features.zscope.db scripts/screenshots.sh   adds the dashboard's data
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
APP="$BUILD/bin/zscope"
[ -x "$APP" ] || { echo "no $APP; build the zscope target first" >&2; exit 2; }
OUT=docs/images
mkdir -p "$OUT"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# Settings go to a throw-away folder: screenshots never touch (or use) the user's layout.
export XDG_CONFIG_HOME="$TMP/config"
PROMPT=${PROMPT:-"When Mary and John went to the store, John gave a drink to Mary. When Mary and John went to the park, John"}
ARGS=()
if [ -f data/models/zscope-4l/config.json ] && [ -d data/saes/zscope-4l ]; then
  ARGS+=(--model default)
else
  SHARED=${ZSCOPE_SHARED_DIR:-../shared}
  [ -d "$SHARED/testdata/tiny-gpt2" ] || { echo "neither the default model nor $SHARED/testdata/tiny-gpt2 exists" >&2; exit 3; }
  echo "default model missing: using tiny-gpt2 with random SAEs" >&2
  python3 - "$TMP/saes" <<'PY'
import json, math, os, random, struct, sys
root, d_in, d_sae = sys.argv[1], 64, 64
random.seed(0)
for layer in (0, 1):
    d = f"{root}/blocks.{layer}.attn.hook_z"; os.makedirs(d, exist_ok=True)
    Wd = []
    for f in range(d_sae):
        row = [random.gauss(0, 1) * (1 + ((f + i // 16) % 4)) for i in range(d_in)]
        n = math.sqrt(sum(v * v for v in row)); Wd.append([v / n for v in row])
    t = {"W_enc": ([d_in, d_sae], [Wd[f][i] * 2 for i in range(d_in) for f in range(d_sae)]),
         "W_dec": ([d_sae, d_in], [v for r in Wd for v in r]), "b_enc": ([d_sae], [0.02] * d_sae), "b_dec": ([d_in], [0.0] * d_in)}
    hdr, data = {}, b""
    for k, (shape, vals) in t.items():
        b = struct.pack(f"<{len(vals)}f", *vals); hdr[k] = {"dtype": "F32", "shape": shape, "data_offsets": [len(data), len(data) + len(b)]}; data += b
    h = json.dumps(hdr).encode(); h += b" " * ((8 - len(h) % 8) % 8)
    open(f"{d}/sae_weights.safetensors", "wb").write(struct.pack("<Q", len(h)) + h + data)
    json.dump({"d_in": d_in, "d_sae": d_sae, "hook_name": f"blocks.{layer}.attn.hook_z", "hook_layer": layer,
               "apply_b_dec_to_input": True, "activation_fn_str": "relu", "dtype": "float32"}, open(f"{d}/cfg.json", "w"))
PY
  ARGS+=(--model "$SHARED/testdata/tiny-gpt2" --sae "$TMP/saes")
  PROMPT="the cat sat on the mat. the cat sat"
fi
[ -n "${ZSCOPE_DB:-}" ] && ARGS+=(--db "$ZSCOPE_DB")
shot() {  # shot FILE [extra args]
  local file=$1; shift
  xvfb-run -a -s "-screen 0 1600x1200x24" env QT_QPA_PLATFORM=xcb \
    "$APP" "${ARGS[@]}" --prompt "$PROMPT" --threads 2 --screenshot "$file" "$@"
}
shot "$OUT/explorer.png"
shot "$OUT/explorer-dark.png" --dark
echo "wrote $OUT/explorer.png and $OUT/explorer-dark.png"
