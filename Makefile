# The two README commands. Everything else lives in CMakePresets.json and scripts/.
JOBS ?= $(shell nproc)

# Debian 12's OpenBLAS (0.3.21) does not recognise recent Xeons and falls back to its SSE3
# ("Prescott") kernels, 3-5x slower than Eigen (docs/linalg.md). Unless the caller names a kernel
# family, name it from the CPU's flags for every command run here (tests, benchmarks, the demo).
OPENBLAS_CORETYPE ?= $(shell grep -qw avx512f /proc/cpuinfo 2>/dev/null && echo SkylakeX || \
                       (grep -qw avx2 /proc/cpuinfo 2>/dev/null && echo Haswell))
ifneq ($(OPENBLAS_CORETYPE),)
export OPENBLAS_CORETYPE
endif

.PHONY: deps test demo bench format clean gpu-kit docs fuzz fuzz-smoke

deps:
	bash scripts/install-deps.sh

# Warnings-as-errors build of every test, benchmark and example, all tests through ctest, then a
# lean AddressSanitizer+UBSan run of one suite of every family, then a few seconds of each fuzz
# target.
test: deps
	cmake --preset ci
	cmake --build --preset ci -j $(JOBS)
	ctest --preset ci -j $(JOBS)
	cmake --preset sanitize
	cmake --build --preset sanitize -j $(JOBS)
	ctest --preset sanitize -j $(JOBS)
	$(MAKE) fuzz-smoke

# libFuzzer targets (tests/fuzz, clang + ASan/UBSan, docs/fuzzing.md) over their seed corpora:
# fuzz-smoke runs each a few seconds, fuzz FUZZ_SECONDS each; both fail on any finding.
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 5
fuzz-smoke: deps
	FUZZ_JOBS=$(JOBS) bash scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS)

fuzz: deps
	FUZZ_JOBS=$(JOBS) bash scripts/fuzz.sh $(FUZZ_SECONDS)

demo: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS) --target continua_demo
	./build/release/examples/continua_demo

bench: deps
	cmake --preset release
	cmake --build --preset release -j $(JOBS)
	./build/release/bench/bench_core --benchmark_counters_tabular=true

# API reference (Doxygen) of the public headers: build/docs/html/index.html. Fails on any Doxygen
# warning and on any public component without documentation (scripts/check-api-docs.py).
docs: deps
	bash scripts/api-docs.sh

format:
	find include tests bench examples -name '*.hpp' -o -name '*.cpp' -o -name '*.cu' | xargs clang-format -i

clean:
	rm -rf build

# GPU kit (docs/gpu.md): CUDA suites + GPU benchmarks built here, run on a GPU machine with
# build/gpu-kit/run.sh OUT_DIR.
gpu-kit: deps
	bash scripts/gpu-kit.sh
