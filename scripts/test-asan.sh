#!/usr/bin/env bash
# The test suite against the addon built with AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc or clang). The sanitized build goes to build-asan/; build/ is rebuilt as it was afterwards.
# Leak detection is off: Node itself does not free everything at exit.
# Arguments: test files to run (default: the whole suite), e.g. dist/test/workers.test.js.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
. scripts/sanitized-build.sh
build_sanitized "$sanitize" build-asan
cc=${CC:-gcc}
export LD_PRELOAD="$($cc -print-file-name=libasan.so) $($cc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ $# -eq 0 ]; then set -- dist/test/*.test.js; fi
node --expose-gc --test --test-concurrency=1 "$@"
