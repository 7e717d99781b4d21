#!/usr/bin/env bash
# Builds the GPU kit on a machine without a GPU: every CUDA test, the GPU benchmarks and the
# latency counter, compiled by nvcc for Hopper and the common architectures, packed with the
# shared libraries a bare CUDA 13 machine lacks, plus run.sh and the PyTorch peer script.
#   bash scripts/gpu-kit.sh [KIT_DIR]        (default build/gpu-kit, git-ignored, < 64 MiB)
# On the GPU machine:  KIT_DIR/run.sh OUT_DIR   (log, CSV and benchmark figures land in OUT_DIR)
# Assumed present there: the NVIDIA driver, the CUDA 13 runtime, cuBLAS, cuSOLVER, libstdc++ as
# new as Debian 12's, and python3 with PyTorch for the peer figures.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kit=${1:-$root/build/gpu-kit}
build=${CONTINUA_KIT_BUILD_DIR:-$root/build/gpu-kit-build}
archs=${CONTINUA_KIT_ARCHITECTURES:-75-virtual;80-real;90-real}
jobs=${JOBS:-$(nproc)}

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCONTINUA_WITH_CUDA=ON \
  -DCONTINUA_BUILD_EXAMPLES=OFF -DCONTINUA_WARNINGS_AS_ERRORS=ON \
  -DCONTINUA_CUDA_ARCHITECTURES="$archs" -DCMAKE_CUDA_FLAGS="--compress-mode=size" \
  >"$build.configure.log" 2>&1 ||
  { cat "$build.configure.log"; exit 1; }

# The CUDA suites are the ones tests/cuda/CMakeLists.txt registers.
mapfile -t suites < <(sed -n 's/^continua_add_cuda_test(\([a-z0-9_]*\).*/\1/p' \
  "$root/tests/cuda/CMakeLists.txt")
tools=(bench_gpu latency_count demo_gpu cuda_call_counter)
cmake --build "$build" -j "$jobs" --target "${suites[@]}" "${tools[@]}"

rm -rf "$kit"
mkdir -p "$kit/bin" "$kit/lib" "$kit/peers" "$kit/data"
for s in "${suites[@]}"; do cp "$build/tests/cuda/$s" "$kit/bin/"; done
# Fat binaries compressed for size (--compress-mode=size, a third of the default) and symbols
# stripped: three architectures of eleven programs and the dataset must fit in 64 MiB.
cp "$build/bench/gpu/bench_gpu" "$build/bench/gpu/latency_count" "$build/bench/gpu/demo_gpu" \
  "$kit/bin/"
cp "$build/bench/gpu/libcuda_call_counter.so" "$kit/lib/"
strip "$kit"/bin/*
printf '%s\n' "${suites[@]}" >"$kit/suites.txt"

# Libraries ldd resolves that the GPU machine is not assumed to have (Boost/benchmark, OpenMP,
# zlib, ...). The system C/C++ runtime and the CUDA libraries stay out: theirs must be used.
provided='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libstdc\+\+|libgcc_s|libcuda\.|libcudart|libcublas|libcusolver|libcusparse|libnvJitLink)'
for f in "$kit"/bin/* "$kit"/lib/*.so; do
  ldd "$f" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  if ! [[ $name =~ $provided ]]; then cp -L "$path" "$kit/lib/$name"; fi
done

cp "$root/scripts/gpu-kit-run.sh" "$kit/run.sh"
cp "$root/bench/peers/torch_gpu.py" "$kit/peers/"
# The real Fashion-MNIST (Debian's dataset-fashion-mnist, 30 MB gzipped) for demo_gpu.
cp /usr/share/datasets/fashion-mnist/*-ubyte.gz "$kit/data/"
chmod +x "$kit/run.sh"
size=$(du -sm "$kit" | cut -f1)
echo "gpu-kit: $kit (${size} MiB, architectures $archs)"
ls "$kit/bin" "$kit/lib"
if [ "$size" -ge 64 ]; then
  echo "gpu-kit: larger than the 64 MiB a device call carries" >&2
  exit 1
fi
