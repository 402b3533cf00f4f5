#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for SECONDS
# (default 60) with a seed corpus made from the test fixtures (issue 19).
#   scripts/fuzz.sh [SECONDS] [TARGET ...]      targets: json safetensors pt tokenizer corpus config labels
# Findings (crash-*, leak-*, timeout-*, oom-*) land in build-fuzz/findings/<target>/; the
# script exits 1 when any target found something. Env: FUZZ_BUILD_DIR, FUZZ_JOBS, FUZZ_RSS_MB.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(json safetensors pt tokenizer corpus config labels)
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${FUZZ_JOBS:-$(nproc)}
RSS=${FUZZ_RSS_MB:-4096}
SHARED=../shared/testdata

command -v clang++ >/dev/null || { echo "fuzz.sh: clang++ is needed" >&2; exit 2; }
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
    -DZSCOPE_BUILD_GUI=OFF -DZSCOPE_BUILD_TESTS=OFF -DZSCOPE_FUZZ=ON
fi
cmake --build "$BUILD" -j "$JOBS" --target $(printf 'fuzz_%s ' "${TARGETS[@]}")

seeds() {  # seeds TARGET DIR
  local t=$1 d=$2
  mkdir -p "$d"
  case $t in
    json|config)
      for f in data/models/*/config.json data/models/*/train_config_*.json data/saes/*/*/cfg.json \
               $(find "$SHARED" -name '*.json' -size -256k 2>/dev/null | head -40); do
        [ -f "$f" ] && cp "$f" "$d/$(echo "$f" | tr '/' '_')"
      done
      printf '{"a":[1,2,{"b":null}]}' > "$d/small.json" ;;
    safetensors)
      for f in $(find "$SHARED" data -name '*.safetensors' -size -128k 2>/dev/null | head -20); do
        cp "$f" "$d/$(echo "$f" | tr '/' '_')"
      done ;;
    pt)
      python3 - "$d/seed.pt" <<'PY'
import struct, sys, zipfile
def s(x): b = x.encode(); return b'X' + struct.pack('<I', len(b)) + b
p = b'\x80\x02' + b'ccollections\nOrderedDict\n)R'
p += s('W_enc') + b'ctorch._utils\n_rebuild_tensor_v2\n(('
p += s('storage') + b'ctorch\nFloatStorage\n' + s('0') + s('cpu') + b'K\x06tQ'
p += b'K\x00K\x02K\x03\x86K\x03K\x01\x86\x89ccollections\nOrderedDict\n)RtRs.'
with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_STORED) as z:
    z.writestr('archive/data.pkl', p)
    z.writestr('archive/data/0', struct.pack('<6f', 1, 2, 3, 4, 5, 6))
    z.writestr('archive/version', '3\n')
PY
      ;;
    tokenizer)
      for dir in data/models/zscope-2l "$SHARED/tiny-gpt2"; do
        [ -f "$dir/vocab.json" ] && { cat "$dir/vocab.json"; printf '\0'; head -c 20000 "$dir/merges.txt"; } \
          > "$d/$(echo "$dir" | tr '/' '_').bpe"
      done
      printf '{"a":0,"b":1,"ab":2}\0#version: 0.2\na b\n' > "$d/tiny.bpe"
      for f in $(find "$SHARED/hf-tokenizers" -name tokenizer.json -size -2M 2>/dev/null | head -4); do
        cp "$f" "$d/$(echo "$f" | tr '/' '_')"
      done ;;
    corpus)
      printf 'The cat sat on the mat.\n<|endoftext|>A second document.\n' > "$d/text.txt"
      printf '{"text":"one document"}\n{"text":"two\\nlines"}\n' > "$d/docs.jsonl" ;;
    labels)
      printf '{"modelId":"m","layer":"0-att","index":"5","description":"a label","family":"induction","confidence":0.5}\n' > "$d/l.jsonl"
      printf 'modelId,layer,index,description,family\nm,0-att,5,"a, label",other\n' > "$d/l.csv" ;;
  esac
}

found=0
for t in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$t" out="$BUILD/findings/$t"
  mkdir -p "$corpus" "$out"
  seeds "$t" "$BUILD/seeds/$t"
  echo "== fuzz_$t for ${SECONDS_EACH}s"
  set +e
  ( cd "$out" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$OLDPWD/$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -rss_limit_mb="$RSS" -timeout=20 \
      -max_len=1048576 -print_final_stats=1 "$OLDPWD/$corpus" "$OLDPWD/$BUILD/seeds/$t" ) 2>&1 | tail -25
  rc=${PIPESTATUS[0]}
  set -e
  if [ "$rc" -ne 0 ] || ls "$out" | grep -qE '^(crash|leak|timeout|oom)-'; then
    echo "fuzz_$t: FINDINGS in $out (exit $rc)"
    found=1
  fi
done
exit $found
