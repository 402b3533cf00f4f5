#!/usr/bin/env bash
# Architecture sweep on the default model (zscope-2l): trains each SAE
# architecture (standard = ReLU + L1, topk, batchtopk, jumprelu) at three
# sparsities, both layers at once (`--layer all`, one harvest per run), then
# evaluates every SAE with `eval-sae` on held-out test windows (CE loss
# recovered, L0, explained variance, density shares) and writes one JSON file
# (`results.json`) that `zscope --export-figure pareto` plots.
#
#   scripts/sae_sweep.sh [OUT]           (default: runs/sae_sweep)
#
# Environment (defaults are sized for a 40-minute sweep on a loaded 2-core CPU;
# the published figure used them):
#   CLI=build/bin/zscope-cli  CORPUS=data/corpus/out  TOKENS=102400  BATCH=512
#   EVAL_TOKENS=8192  THREADS=1  D_SAE=2048  GUI=build/bin/zscope (draws OUT/sae_sweep.png)
# The corpus is the one zscope-2l was trained on: `data/corpus/build_corpus.sh --v1`
# (see data/saes/zscope-2l/README.md). Finished runs are skipped when the
# script is run again (it resumes an interrupted sweep); results.json is
# rewritten after every run, with "complete": false until the last one.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/sae_sweep}
CLI=${CLI:-build/bin/zscope-cli}
CORPUS=${CORPUS:-data/corpus/out}
TOKENS=${TOKENS:-102400}
BATCH=${BATCH:-512}
EVAL_TOKENS=${EVAL_TOKENS:-8192}
THREADS=${THREADS:-1}
D_SAE=${D_SAE:-2048}
[ -x "$CLI" ] || { echo "no $CLI; build zscope-cli first" >&2; exit 2; }
for f in train validation test; do
  [ -f "$CORPUS/$f.jsonl" ] || { echo "no $CORPUS/$f.jsonl; run data/corpus/build_corpus.sh --v1 $CORPUS" >&2; exit 3; }
done
mkdir -p "$OUT"

# name  architecture  sparsity flag(s). The middle sparsity of every
# architecture first, so that a partial sweep still compares all four.
RUNS=(
  "standard-0.30 standard --l1-scale 0.30"
  "topk-16 topk --k 16"
  "batchtopk-16 batchtopk --k 16"
  "jumprelu-1 jumprelu --l0 1"
  "standard-0.50 standard --l1-scale 0.50"
  "topk-8 topk --k 8"
  "batchtopk-8 batchtopk --k 8"
  "jumprelu-10 jumprelu --l0 10"
  "standard-0.18 standard --l1-scale 0.18"
  "topk-32 topk --k 32"
  "batchtopk-32 batchtopk --k 32"
  "jumprelu-0.1 jumprelu --l0 0.1"
)

collect() {  # results.json from every finished run's eval files
  local complete=$1
  python3 - "$OUT" "$complete" "$TOKENS" "$BATCH" "$EVAL_TOKENS" "$D_SAE" <<'PY'
import json, os, sys
out, complete, tokens, batch, eval_tokens, d_sae = sys.argv[1:7]
points = []
for name in sorted(os.listdir(out)):
    run = os.path.join(out, name)
    meta = os.path.join(run, "sweep.json")
    if not os.path.isfile(meta):
        continue
    m = json.load(open(meta))
    for layer in (0, 1):
        ev = os.path.join(run, f"eval_L{layer}.json")
        if not os.path.isfile(ev):
            continue
        e = json.load(open(ev))
        points.append({"run": name, "architecture": m["architecture"], "sparsity_flag": m["flag"],
                       "sparsity_value": m["value"], "layer": layer, "train_seconds": m["seconds"],
                       **{k: e[k] for k in ("l0", "ce_loss_recovered", "explained_variance", "mse", "dead_fraction",
                                            "dense_fraction", "density_below_1e-5", "density_below_1e-4",
                                            "density_below_1e-3", "density_histogram", "tokens", "ce_clean",
                                            "ce_spliced", "ce_zero_ablation")}})
res = {"kind": "sae_sweep", "model": "zscope-2l", "complete": complete == "1",
       "settings": {"tokens_per_run": int(tokens), "batch": int(batch), "d_sae": int(d_sae),
                    "eval_tokens": int(eval_tokens), "eval_corpus": "test.jsonl (corpus v1)",
                    "train_corpus": "train.jsonl (corpus v1)"},
       "x": "l0", "y": "ce_loss_recovered", "series": "architecture", "panel": "layer",
       "points": points}
json.dump(res, open(os.path.join(out, "results.json"), "w"), indent=1)
PY
}

for r in "${RUNS[@]}"; do
  read -r name arch flag value <<<"$r"
  dir="$OUT/$name"
  if [ -f "$dir/sweep.json" ] && [ -f "$dir/eval_L1.json" ]; then continue; fi
  echo "== $name ($(date -u +%H:%M:%S))" >&2
  t0=$(date +%s)
  extra=()
  # Short runs: AuxK's "dead" window scaled down with them (default: 100 steps).
  [[ $arch == topk || $arch == batchtopk ]] && extra+=(--dead-window 25)
  "$CLI" train-sae --threads "$THREADS" --quiet --model default --layer all --corpus "$CORPUS/train.jsonl" \
    --eval-corpus "$CORPUS/validation.jsonl" --eval-windows 4 --ce-every 0 --out "$dir" \
    --d-sae "$D_SAE" --batch "$BATCH" --tokens "$TOKENS" --buffer-tokens $((BATCH * 32)) --architecture "$arch" "$flag" "$value" "${extra[@]}" \
    --json >"$dir.train.json"
  t1=$(date +%s)
  for layer in 0 1; do
    "$CLI" eval-sae --threads "$THREADS" --quiet --model default --sae "$dir/blocks.$layer.attn.hook_z" \
      --corpus "$CORPUS/test.jsonl" --tokens "$EVAL_TOKENS" --json >"$dir/eval_L$layer.json"
  done
  printf '{"architecture":"%s","flag":"%s","value":%s,"seconds":%d}\n' "$arch" "${flag#--}" "$value" $((t1 - t0)) \
    >"$dir/sweep.json"
  collect 0
done
collect 1
echo "done: $OUT/results.json" >&2
# The figure, drawn by Zscope itself (CE loss recovered against L0, one panel per layer).
GUI=${GUI:-build/bin/zscope}
if [ -x "$GUI" ]; then
  QT_QPA_PLATFORM=${QT_QPA_PLATFORM:-offscreen} "$GUI" --export-figure pareto --data "$OUT/results.json" \
    --out "$OUT/sae_sweep.png" --dpi 150 && echo "figure: $OUT/sae_sweep.png" >&2
fi
