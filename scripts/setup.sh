#!/usr/bin/env bash
# setup.sh [run|test|bench] — install what ringcap needs on a Debian machine
# (as root), then build. Idempotent: installs only what is missing.
#   run   : compiler + libpcap (to build libring) — enough to capture
#   test  : + tcpdump, tshark, nfdump, iproute2, netsniff-ng, kernel headers,
#           qemu, busybox, kmod, cpio (the VM that tests the kernel module),
#           systemd (systemd-analyze verifies the service unit)
#   bench : test + linux-perf (scripts/bench/profile_hot.sh samples the probe's and topn's hot path)
# npm packages (bun, deno, cac, typescript) come from package-lock.json via npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-run}"

# First (before installing anything): package-lock.json must still describe
# package.json. npm ci checks the dependency versions but not the rest of the
# lock's root entry (bin, license, engines...): scripts/check_lock.mjs.
if ! node scripts/check_lock.mjs; then
  if [[ "$mode" != run ]]; then exit 2; fi
  echo "setup: continuing (the test command stops here)" >&2
fi

pkgs=(build-essential libpcap-dev iproute2 procps util-linux)
if [[ "$mode" != run ]]; then
  pkgs+=(tcpdump tshark nfdump ethtool netsniff-ng iputils-ping linux-headers-amd64
         qemu-system-x86 busybox-static kmod cpio systemd
         libxdp1 libbpf1 xdp-tools   # AF_XDP backend (libring dlopens libxdp) and xdp-loader
         clang libbpf-dev            # build.sh compiles the xdp backend's XDP program (per-packet timestamps)
         prometheus)                 # --metrics tests: a real Prometheus scrapes the tools, promtool checks
fi
if [[ "$mode" == bench ]]; then
  pkgs+=(linux-perf)                 # scripts/bench/profile_hot.sh: perf record -e cpu-clock of the hot path
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) != 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or apt-get install them)" >&2
    exit 2
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x node_modules/.bin/bun || ! -x node_modules/.bin/deno || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "setup: npm ci (bun, deno, cac, typescript)" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
bash scripts/build.sh
