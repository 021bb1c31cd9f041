#!/bin/bash
# The whole test suite, as CI runs it (root needed for the namespace tests):
#   1. install dependencies (Debian packages)
#   2. build with -Werror and run the unit and integration tests
#   3. rebuild with AddressSanitizer + UndefinedBehaviorSanitizer, run them again
#   4. build the libFuzzer targets and run each for a bounded time
# Ends with one line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
jobs=$(nproc 2>/dev/null || echo 2)
passed=0; failed=0
results=()

note() { printf '\n=== %s\n' "$*"; }

# Adds the PASS/FAIL counts of an automake test-suite.log to the totals.
count_suite() {
    local label=$1 log=$2 p f
    if [ ! -f "$log" ]; then
        failed=$((failed + 1)); results+=("$label: no test log (build failed?)"); return
    fi
    p=$(awk '/^# PASS:/ {print $3}' "$log"); f=$(awk '/^# (FAIL|ERROR|XPASS):/ {s += $3} END {print s+0}' "$log")
    passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    results+=("$label: ${p:-0} passed, ${f:-0} failed")
    if [ "${f:-0}" != 0 ]; then
        grep -E '^(FAIL|ERROR)' "$log" | head -40
        sed -n '/^\(FAIL\|ERROR\): /,/^$/p' "$log" | grep -E '^# |^not ok' | head -60
    fi
}

step_fail() { failed=$((failed + 1)); results+=("$1: FAILED"); }

note "dependencies"
./scripts/install-deps.sh || { echo "dependency install failed"; echo "0 passed, 1 failed"; exit 1; }

note "bootstrap"
autoreconf -fi >/dev/null || { echo "autoreconf failed"; echo "0 passed, 1 failed"; exit 1; }

build() {   # build DIR CONFIGURE-ARGS...
    local dir=$1; shift
    rm -rf "$dir"; mkdir -p "$dir"
    (cd "$dir" && "$top/configure" -q --enable-werror "$@" && make -s -j"$jobs")
}

note "build (-Werror)"
if build build --prefix=/usr/local; then
    note "unit tests"
    (cd build && make -s -j"$jobs" check >/dev/null 2>&1)
    count_suite "unit" build/test-suite.log
    note "make install (DESTDIR) and make distcheck"
    dest=$(mktemp -d)
    if (cd build && make -s install DESTDIR="$dest" >/dev/null 2>&1) &&
       [ -x "$dest/usr/local/sbin/tandem-proxy" ] && [ -f "$dest/usr/local/share/man/man8/tandem-proxy.8" ]; then
        passed=$((passed + 1)); results+=("make install: ok")
    else
        step_fail "make install"
    fi
    rm -rf "$dest"
    if (cd build && make -s distcheck >build-distcheck.log 2>&1); then
        passed=$((passed + 1)); results+=("make distcheck: ok")
    else
        tail -30 build/build-distcheck.log; step_fail "make distcheck"
    fi
    if [ "$(id -u)" = 0 ]; then
        note "integration tests"
        (cd build && make -s check-integration >/dev/null 2>&1)
        count_suite "integration" build/tests/integration/test-suite.log
    else
        echo "not root: integration tests need network namespaces"; step_fail "integration (not root)"
    fi
else
    step_fail "build"
fi

if [ "$(id -u)" = 0 ] && [ -x build/tandem-vrrp ]; then
    note "the demo (README's first command)"
    if scripts/demo.sh > build/demo.log 2>&1; then
        passed=$((passed + 1)); results+=("demo: ok ($(grep -o 'failover gap.*' build/demo.log))")
    else
        tail -25 build/demo.log; step_fail "demo"
    fi
fi

note "build (ASan + UBSan)"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
if build build-asan CFLAGS="$san" LDFLAGS="-fsanitize=address,undefined"; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
    (cd build-asan && make -s -j"$jobs" check >/dev/null 2>&1)
    count_suite "unit (asan+ubsan)" build-asan/test-suite.log
    if [ "$(id -u)" = 0 ]; then
        (cd build-asan && make -s check-integration >/dev/null 2>&1)
        count_suite "integration (asan+ubsan)" build-asan/tests/integration/test-suite.log
    fi
    unset ASAN_OPTIONS UBSAN_OPTIONS
else
    step_fail "asan build"
fi

note "fuzz targets"
if [ -x tests/fuzz/run.sh ]; then
    out=$(tests/fuzz/run.sh "${FUZZ_SECONDS:-20}" 2>&1); rc=$?
    echo "$out" | grep -E '^(ok|not ok|#)' || true
    p=$(echo "$out" | grep -c '^ok '); f=$(echo "$out" | grep -c '^not ok ')
    [ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
    passed=$((passed + p)); failed=$((failed + f)); results+=("fuzz: $p passed, $f failed")
fi

note "summary"
printf '%s\n' "${results[@]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
