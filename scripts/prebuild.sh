#!/usr/bin/env bash
# Builds the prebuilt Node-API binaries the package ships, one per platform, architecture and C
# library, into prebuilds/<platform>-<arch>-<libc>/aiofs.node, stripped, and checks each one:
#
#   linux-x64-glibc    gcc                     needs no glibc newer than GLIBC_MAX below
#   linux-x64-musl     musl-gcc (musl-tools)   every libc symbol it uses is in musl's libc
#   linux-arm64-glibc  aarch64-linux-gnu-gcc   (gcc-aarch64-linux-gnu)
#   linux-arm64-musl   aarch64-linux-gnu-gcc over musl's arm64 headers and libc (musl-dev:arm64)
#
# Node-API is ABI-stable: one binary per target serves Node 20 and later, Bun and Deno. Headers
# come from the running Node's installation (include/node beside its bin/), or NODE_HEADERS.
# Arguments: the targets to build (default: all four). A target whose toolchain is missing fails.
# Debian packages: gcc-aarch64-linux-gnu musl-tools, and musl-dev:arm64 (dpkg --add-architecture arm64).
set -euo pipefail
cd "$(dirname "$0")/.."

# The newest glibc symbol version a glibc binary may need: 2.17 is RHEL 7 (2014) and the first
# glibc for arm64, so every distribution still supported loads them (native/glibc_compat.h keeps
# the waiter thread's pthread calls at their old versions).
GLIBC_MAX=2.17
headers=${NODE_HEADERS:-$(dirname "$(dirname "$(command -v node)")")/include/node}
[ -f "$headers/node_api.h" ] || { echo "prebuild: no Node headers at $headers (set NODE_HEADERS)" >&2; exit 1; }
sources=(native/addon.c native/uring.c native/aio.c native/direct.c native/memory.c native/uapi_check.c
  native/waiter.c native/args.c native/owned_fds.c native/registered.c native/splice.c)
cflags=(-O2 -std=gnu11 -fPIC -fvisibility=hidden -Wall -Wextra -Werror -DNAPI_VERSION=8
  -DNODE_GYP_MODULE_NAME=aiofs -I"$headers")
ldflags=(-shared -Wl,-z,relro,-z,now -Wl,--as-needed -Wl,--build-id=none)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Kernel UAPI headers (linux/, asm/, asm-generic/) for a compiler that, like musl-gcc, does not
# search /usr/include: they belong to the kernel, not to a C library.
uapi_dir() {
  local triplet=$1 dir="$work/uapi-$1"
  mkdir -p "$dir"
  local asm=/usr/include/$triplet/asm
  [ -d "$asm" ] || asm=/usr/$triplet/include/asm
  ln -sfn /usr/include/linux "$dir/linux"
  ln -sfn /usr/include/asm-generic "$dir/asm-generic"
  ln -sfn "$asm" "$dir/asm"
  echo "$dir"
}

# Every symbol the binary needs (weak ones aside) must be defined by the musl `libc` (napi_* and
# uv_* come from the runtime that loads it), and it must not ask for glibc.
check_musl() {
  local binary=$1 nm=$2 libc=$3 missing
  missing=$(comm -23 \
    <("$nm" -D --undefined-only "$binary" | awk '$1 == "U" {print $2}' | grep -v -E '^(napi_|uv_)' | sed 's/@.*//' | sort -u) \
    <(nm -D --defined-only "$libc" | awk '{print $3}' | sort -u))
  if [ -n "$missing" ]; then echo "prebuild: $binary needs symbols musl lacks: $missing" >&2; exit 1; fi
  if readelf -d "$binary" | grep -q 'libc.so.6'; then echo "prebuild: $binary needs glibc" >&2; exit 1; fi
}

check_glibc() {
  local binary=$1 newest
  newest=$(readelf -W --dyn-syms "$binary" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1)
  if [ "$(printf '%s\n%s\n' "$newest" "$GLIBC_MAX" | sort -V | tail -1)" != "$GLIBC_MAX" ]; then
    echo "prebuild: $binary needs GLIBC_$newest, newer than GLIBC_$GLIBC_MAX" >&2
    exit 1
  fi
}

build() {
  local target=$1 out=prebuilds/$1/aiofs.node
  mkdir -p "prebuilds/$target"
  case $target in
    linux-x64-glibc)
      gcc "${cflags[@]}" -include native/glibc_compat.h "${sources[@]}" "${ldflags[@]}" -o "$out"
      strip --strip-unneeded "$out"
      check_glibc "$out" ;;
    linux-x64-musl)
      musl-gcc "${cflags[@]}" -isystem "$(uapi_dir x86_64-linux-gnu)" "${sources[@]}" "${ldflags[@]}" -o "$out"
      strip --strip-unneeded "$out"
      check_musl "$out" nm /usr/lib/x86_64-linux-musl/libc.so ;;
    linux-arm64-glibc)
      aarch64-linux-gnu-gcc "${cflags[@]}" -include native/glibc_compat.h "${sources[@]}" "${ldflags[@]}" -o "$out"
      aarch64-linux-gnu-strip --strip-unneeded "$out"
      check_glibc "$out" ;;
    linux-arm64-musl)
      # What musl-gcc does for its own architecture, spelled out for the cross compiler.
      local cc=aarch64-linux-gnu-gcc lib=/usr/lib/aarch64-linux-musl
      [ -f "$lib/libc.so" ] || { echo "prebuild: no musl for arm64 in $lib (musl-dev:arm64)" >&2; exit 1; }
      $cc "${cflags[@]}" -nostdinc -isystem /usr/include/aarch64-linux-musl \
        -isystem "$(uapi_dir aarch64-linux-gnu)" -isystem "$($cc -print-file-name=include)" \
        -nostdlib "$lib/crti.o" "$($cc -print-file-name=crtbeginS.o)" "${sources[@]}" \
        "${ldflags[@]}" -L"$lib" -lc "$($cc -print-libgcc-file-name)" \
        "$($cc -print-file-name=crtendS.o)" "$lib/crtn.o" -o "$out"
      aarch64-linux-gnu-strip --strip-unneeded "$out"
      check_musl "$out" aarch64-linux-gnu-nm "$lib/libc.so" ;;
    *)
      echo "prebuild: unknown target $target" >&2
      exit 1 ;;
  esac
  echo "prebuild: $out ($(stat -c %s "$out") bytes)"
}

if [ $# -eq 0 ]; then set -- linux-x64-glibc linux-x64-musl linux-arm64-glibc linux-arm64-musl; fi
for target in "$@"; do build "$target"; done
