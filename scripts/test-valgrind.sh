#!/usr/bin/env bash
# The core tests (IoContext data and metadata operations and their errors, on every backend)
# under valgrind's memcheck. Node runs --jitless so that memcheck sees no self-modifying code;
# any memcheck error fails the run. Slow (minutes): for the native core, not for every change.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install tsc -p tsconfig.json
status=0
for test in context-io context-errors context-meta; do
  echo "# valgrind: $test"
  valgrind --tool=memcheck --error-exitcode=99 --leak-check=no --quiet \
    node --jitless --expose-gc "dist/test/$test.test.js" | grep -E '^# (tests|pass|fail)' || status=1
done
exit $status
