#!/usr/bin/env bash
# build.sh — build libring (libring/build/libring.so + C tools) with -Werror,
# and, where clang and libbpf-dev are installed, the xdp backend's XDP program
# (libring/build/xsk_ts.bpf.o: per-packet timestamps; without it the backend
# uses libxdp's program and gives no timestamps).
# The kernel module is built by scripts/vm/ against the VM's kernel headers.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C libring
bpf_out=libring/build/xsk_ts.bpf.o
if command -v clang >/dev/null && [[ -f /usr/include/bpf/bpf_helpers.h ]]; then
  if [[ ! -f $bpf_out || libring/bpf/xsk_ts.bpf.c -nt $bpf_out || libring/bpf/xsk_ts.h -nt $bpf_out ]]; then
    # -g: BTF, which libxdp's dispatcher needs to load the program as an extension
    clang -O2 -g -Wall -Werror -target bpf -I"/usr/include/$(gcc -print-multiarch)" \
      -c libring/bpf/xsk_ts.bpf.c -o "$bpf_out"
  fi
else
  rm -f "$bpf_out"
  echo "build: no clang/libbpf-dev: the xdp backend gives no per-packet timestamps (apt-get install clang libbpf-dev)" >&2
fi
