#!/usr/bin/env bash
# build.sh — build libring (libring/build/libring.so + C tools) with -Werror.
# The kernel module is built by scripts/vm/ against the VM's kernel headers.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s -C libring
