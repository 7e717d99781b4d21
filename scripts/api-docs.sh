#!/usr/bin/env bash
# Builds the API reference (docs/Doxyfile) and fails on any Doxygen warning or any undocumented
# public component. Run from anywhere (make docs does; so does the api_docs ctest).
#   --dirs core,optim,...  limit both checks to those paths of include/continua/ (the reference
#                          itself is always built from every header)
#   --out DIR              write the reference to DIR instead of build/docs
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/docs
check_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dirs) check_args=(--dirs "${2:?--dirs needs a list}"); shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    *) echo "usage: scripts/api-docs.sh [--dirs core,optim,...] [--out DIR]" >&2; exit 2 ;;
  esac
done
rm -rf "$out"
mkdir -p "$out"
# Doxygen exits non-zero on a warning (WARN_AS_ERROR = FAIL_ON_WARNINGS); the warnings are judged
# (and printed) by the check below, so only a failure that left no warning stops here.
status=0
{ cat docs/Doxyfile; echo "OUTPUT_DIRECTORY = $out"; echo "WARN_LOGFILE = $out/warnings.log"; } |
  doxygen - || status=$?
if [ "$status" -ne 0 ] && [ ! -s "$out/warnings.log" ]; then
  echo "api-docs: doxygen failed (exit $status) without a warning" >&2
  exit 1
fi
python3 scripts/check-api-docs.py "$out/xml" --warnings "$out/warnings.log" "${check_args[@]}"
echo "api-docs: $out/html/index.html"
