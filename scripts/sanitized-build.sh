# Sourced by test-asan.sh and test-tsan.sh, from the repository's root.
# build_sanitized FLAGS DIR: builds the addon with FLAGS (compiler and linker) into DIR/aiofs.node,
# rebuilds build/ as it was, compiles the TypeScript the tests run from, and points the tests at
# the sanitized addon (AIOFS_NATIVE). Tests that bound memory growth skip that bound
# (AIOFS_SANITIZED): ASan keeps freed memory in quarantine, TSan's shadow grows with the heap.
build_sanitized() {
  local flags=$1 dir=$2
  CFLAGS="$flags" CXXFLAGS="$flags" LDFLAGS="$flags" npm run --silent build:native >/dev/null
  rm -rf "$dir"
  mkdir -p "$dir"
  cp build/Release/aiofs.node "$dir/aiofs.node"
  npm run --silent build:native >/dev/null
  npx --no-install tsc -p tsconfig.json
  export AIOFS_NATIVE="$PWD/$dir/aiofs.node"
  export AIOFS_SANITIZED=1
}
