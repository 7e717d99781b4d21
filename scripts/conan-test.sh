#!/usr/bin/env bash
# conan create of continua's recipe with its test_package, offline, in a throwaway CONAN_HOME.
# Usage: conan-test.sh <source dir> <work dir>. Exit 77 (ctest: skipped) when Conan 2 is missing.
set -euo pipefail

src=$(cd "$1" && pwd)
work=$2

if ! command -v conan >/dev/null 2>&1 || ! conan_version=$(conan --version 2>/dev/null); then
  echo "conan-test: no working 'conan' on PATH; skipped (pip install \"conan>=2,<3\")"
  exit 77
fi
case "$conan_version" in
  *" 2."*) ;;
  *) echo "conan-test: '$conan_version' is not Conan 2; skipped"; exit 77 ;;
esac
echo "conan-test: $conan_version"

# Nothing from the user's ~/.conan2 and nothing left in the source tree: home, test_package build
# and its presets all live under the work dir.
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
export CONAN_HOME="$work/home"
conan profile detect >"$work/profile-detect.log" 2>&1 ||
  { cat "$work/profile-detect.log"; exit 1; }
# Every dependency is a platform requirement; a disabled remote turns any slip into an error
# instead of a download.
conan remote disable conancenter >/dev/null
cp -r "$src/test_package" "$work/test_package"
rm -rf "$work/test_package/build" "$work/test_package/CMakeUserPresets.json"

profile=(-pr:h "$src/conan/profiles/system" -pr:b default -c tools.build:jobs=2)
start=$(date +%s)

# Default options: Eigen, xtensor, zlib and OpenMP reach the consumer as targets and defines.
conan create "$src" "${profile[@]}" -tf "$work/test_package" 2>&1 | tee "$work/create.log"
expected="eigen 1, xtensor 1, zlib 1, mpi 0, cuda 0, openmp 1, blas 0"
grep -q "$expected" "$work/create.log" ||
  { echo "conan-test: default options did not give '$expected'"; exit 1; }
grep -q "test_package: all checks passed" "$work/create.log" ||
  { echo "conan-test: test_package did not pass"; exit 1; }

conan inspect "$src" --format=json >"$work/inspect.json"
ref=$(python3 -c "import json, sys; d = json.load(open(sys.argv[1])); print(d['name'] + '/' \
  + d['version'])" "$work/inspect.json")

# conan test of the created package under other options; <expected> is test_package's flag line.
test_with_options() {
  local label=$1 expected=$2
  shift 2
  rm -rf "$work/test_package/build" "$work/test_package/CMakeUserPresets.json"
  conan test "$work/test_package" "$ref" "${profile[@]}" "$@" 2>&1 | tee "$work/$label.log"
  grep -q "$expected" "$work/$label.log" ||
    { echo "conan-test: $label options did not give '$expected'"; exit 1; }
  grep -q "test_package: all checks passed" "$work/$label.log" ||
    { echo "conan-test: $label test_package did not pass"; exit 1; }
}

# Every optional part off: the same package (package_id is cleared) must still be usable with
# nothing but a C++20 compiler.
lean=()
for o in with_eigen with_xtensor with_zlib with_openmp with_mpi with_cuda with_blas; do
  lean+=(-o "continua/*:$o=False")
done
test_with_options lean "eigen 0, xtensor 0, zlib 0, mpi 0, cuda 0, openmp 0, blas 0" "${lean[@]}"

# The parts that are off by default, where this machine has them.
mpi=0 cuda=0 blas=0 extra=()
if command -v mpicxx >/dev/null 2>&1; then mpi=1 extra+=(-o "continua/*:with_mpi=True"); fi
if command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ]; then
  cuda=1 extra+=(-o "continua/*:with_cuda=True")
fi
if ls /usr/lib/*/libopenblas.so >/dev/null 2>&1 ||
  { ls /usr/lib/*/libblas.so && ls /usr/lib/*/liblapack.so; } >/dev/null 2>&1; then
  blas=1 extra+=(-o "continua/*:with_blas=True")
fi
if [ ${#extra[@]} -gt 0 ]; then
  test_with_options optional "eigen 1, xtensor 1, zlib 1, mpi $mpi, cuda $cuda, openmp 1, blas $blas" \
    "${extra[@]}"
else
  echo "conan-test: neither MPI, CUDA nor BLAS here; with_mpi/with_cuda/with_blas not exercised"
fi

echo "conan-test: passed in $(($(date +%s) - start)) s"
