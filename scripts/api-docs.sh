#!/usr/bin/env bash
# Builds the API reference (docs/Doxyfile) into build/docs and fails on any Doxygen warning or any
# undocumented public component. Run from the repository root (make docs does).
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf build/docs
mkdir -p build/docs
doxygen docs/Doxyfile
if [ -s build/docs/warnings.log ]; then
  cat build/docs/warnings.log
  echo "api-docs: Doxygen warnings (above) are errors" >&2
  exit 1
fi
python3 scripts/check-api-docs.py build/docs/xml
echo "api-docs: build/docs/html/index.html"
