#!/bin/sh
# Debian's python3-torch calls BLAS through libblas.so.3, which on a bare machine is the
# reference (netlib) BLAS: unoptimized, single-threaded, ~50x slower matmuls than OpenBLAS.
# For a fair PyTorch baseline this unpacks Debian's OpenBLAS (OpenMP build, the same libgomp
# runtime torch uses) into a cache folder WITHOUT installing it system-wide (the system
# alternative for libblas.so.3 stays as it is). torch_bench.py finds it there and re-runs
# itself with LD_LIBRARY_PATH pointing at it.
#   usage: sh tools/bench/fetch_openblas.sh [openmp|pthread]
set -eu
variant="${1:-openmp}"
dest="${XDG_CACHE_HOME:-$HOME/.cache}/align4j/openblas-$variant"
mkdir -p "$dest"
tmp="$(mktemp -d)"
cd "$tmp"
apt-get download "libopenblas0-$variant" >/dev/null
dpkg -x ./libopenblas0-"$variant"_*.deb "$dest"
rm -rf "$tmp"
lib="$dest/usr/lib/x86_64-linux-gnu/openblas-$variant"
ls "$lib/libblas.so.3" "$lib/liblapack.so.3" >/dev/null
echo "$lib"
