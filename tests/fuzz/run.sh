#!/bin/bash
# Builds every libFuzzer target (tests/fuzz/fuzz_*.c) with clang and runs
# each for SECONDS (default 20), starting from its seed corpus
# (tests/fuzz/corpus/NAME/). Prints TAP. A target names the sources it needs
# on a line of its own:   /* fuzz-sources: src/proxy/http_parse.c */
# and optional extra flags: /* fuzz-libs: -lxxhash */
set -u
cd "$(dirname "$0")/../.."
secs=${1:-20}
out=tests/fuzz/bin
mkdir -p "$out"
targets=(tests/fuzz/fuzz_*.c)
[ -e "${targets[0]}" ] || { echo "1..0"; exit 0; }
echo "1..${#targets[@]}"
n=0; bad=0
for t in "${targets[@]}"; do
    n=$((n + 1))
    name=$(basename "$t" .c)
    srcs=$(sed -n 's|.*fuzz-sources:\(.*\)\*/.*|\1|p' "$t" | head -1)
    libs=$(sed -n 's|.*fuzz-libs:\(.*\)\*/.*|\1|p' "$t" | head -1)
    # shellcheck disable=SC2086
    if ! clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
          -include build/config.h -Ibuild -Isrc/common -Isrc/proxy -Isrc/vrrp \
          "$t" $srcs -o "$out/$name" $libs 2> "$out/$name.build.log"; then
        echo "not ok $n - $name: build failed"; sed 's/^/# /' "$out/$name.build.log" | head -20
        bad=$((bad + 1)); continue
    fi
    corpus="$out/$name.corpus"; mkdir -p "$corpus"
    [ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
    if "$out/$name" -max_total_time="$secs" -rss_limit_mb=1024 -max_len=65536 \
          -print_final_stats=1 "$corpus" > "$out/$name.log" 2>&1; then
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
        echo "ok $n - $name: ${execs:-?} inputs in ${secs}s, no crash"
    else
        echo "not ok $n - $name: crash"; grep -E 'ERROR|SUMMARY|runtime error' "$out/$name.log" | head -5 | sed 's/^/# /'
        bad=$((bad + 1))
    fi
done
[ "$bad" = 0 ]
