#!/usr/bin/env bash
# Installs what continua's build, tests, benchmarks and demo need on Debian 12, skipping what is
# already there. Safe to run repeatedly. The CUDA toolkit is used when present at /usr/local/cuda;
# otherwise Debian's libthrust-dev provides Thrust for the OpenMP device backend.
set -euo pipefail

packages=(
  build-essential cmake make pkg-config
  libeigen3-dev xtensor-dev xtl-dev libxsimd-dev
  libopenblas-dev  # BLAS/LAPACK backend of core/linalg (CONTINUA_WITH_BLAS, on when found)
  libopenblas-openmp-dev  # its OpenMP build, which CMake prefers (shares libgomp's threads)
  libboost-test-dev libbenchmark-dev zlib1g-dev
  libopenmpi-dev openmpi-bin
  dataset-fashion-mnist
  python3 python3-pip
  doxygen
  clang libclang-rt-14-dev  # libFuzzer + sanitizer runtimes for scripts/fuzz.sh (clang 14)
  ninja-build               # builds the fuzz targets in parallel (scripts/fuzz.sh)
)
if [ ! -x /usr/local/cuda/bin/nvcc ]; then
  packages+=(libthrust-dev)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

# Conan 2 for the packaging test; optional: the conan ctest case is skipped without it.
if ! command -v conan >/dev/null 2>&1; then
  if command -v pip >/dev/null 2>&1 || command -v pip3 >/dev/null 2>&1; then
    pip_cmd=$(command -v pip || command -v pip3)
    "$pip_cmd" install -q "conan>=2,<3" 2>/dev/null ||
      "$pip_cmd" install -q --break-system-packages "conan>=2,<3" 2>/dev/null ||
      echo "install-deps: conan could not be installed with pip; its test will be skipped"
  fi
fi
