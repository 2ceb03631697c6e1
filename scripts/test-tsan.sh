#!/usr/bin/env bash
# The tests that run the addon's threads (the waiter thread, worker threads, the SQPOLL rings
# shared between threads) against the addon built with ThreadSanitizer (gcc or clang). The
# sanitized build goes to build-tsan/; build/ is rebuilt as it was afterwards.
#
# Node itself is not instrumented: its own synchronisation (V8's atomics, libuv's) is invisible to
# ThreadSanitizer, which would report races inside Node that are none.
# ignore_noninstrumented_modules=1 leaves out what Node does, so the reports are about the
# addon's memory, its atomics and its own pthread calls. Every report is kept (halt_on_error=0),
# written to build-tsan/report.PID, and the script fails if there is any.
# Arguments: test files to run (default: the files below, and backends.test's SQPOLL tests: the
# rest of that file runs sh, which crashes with ThreadSanitizer preloaded).
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize="-fsanitize=thread -fno-omit-frame-pointer -g"
. scripts/sanitized-build.sh
build_sanitized "$sanitize" build-tsan
cc=${CC:-gcc}
export LD_PRELOAD="$($cc -print-file-name=libtsan.so)"
export TSAN_OPTIONS="halt_on_error=0:exitcode=0:ignore_noninstrumented_modules=1:report_signal_unsafe=0:log_path=$PWD/build-tsan/report"
status=0
if [ $# -eq 0 ]; then
  node --expose-gc --test --test-concurrency=1 dist/test/runtime.test.js dist/test/native.test.js \
    dist/test/context-lifecycle.test.js dist/test/workers.test.js || status=$?
  node --test --test-name-pattern='polling thread|privileges' dist/test/backends.test.js || status=$?
else
  node --expose-gc --test --test-concurrency=1 "$@" || status=$?
fi
if compgen -G 'build-tsan/report.*' >/dev/null; then
  echo "test-tsan: ThreadSanitizer reported:" >&2
  cat build-tsan/report.* >&2
  exit 1
fi
exit "$status"
