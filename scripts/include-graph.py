#!/usr/bin/env python3
"""The include graph of continua's headers, by layer. Prints the who-includes-whom table of
docs/architecture.md; with --check, exits 1 when a rule of that page is broken:
  - core includes nothing of continua outside core (and config.hpp);
  - io includes only core;
  - no family includes an adapter;
  - no layer includes another layer's detail headers;
  - the layer graph has no cycle."""
import re
import sys
from collections import defaultdict
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "include" / "continua"
include_re = re.compile(r'^\s*#\s*include\s+"continua/([^"]+)"', re.M)


def layer_of(rel):
    parts = rel.split("/")
    if len(parts) == 1:  # config.hpp and the umbrella headers
        return "config" if parts[0] == "config.hpp" else "umbrella:" + parts[0]
    return parts[0]


edges = defaultdict(set)
problems = []
for path in sorted(root.rglob("*.hpp")):
    rel = path.relative_to(root).as_posix()
    src = layer_of(rel)
    for target in include_re.findall(path.read_text(encoding="utf-8")):
        dst = layer_of(target)
        if src.startswith("umbrella:") or dst == src or dst == "config":
            continue
        edges[src].add(dst)
        if "/detail" in target or "detail_" in target:
            problems.append(f"{rel} includes another layer's detail header {target}")
        if src == "core":
            problems.append(f"{rel}: core must include only core, not {target}")
        if src == "io" and dst != "core":
            problems.append(f"{rel}: io must include only core, not {target}")
        if dst == "adapters" and src != "adapters":
            problems.append(f"{rel}: a family must not include an adapter ({target})")
        if dst.startswith("umbrella:"):
            problems.append(f"{rel} includes the umbrella header {target}")

# Cycle check over layers.
state = {}


def visit(node, stack):
    state[node] = "open"
    for nxt in sorted(edges.get(node, ())):
        if state.get(nxt) == "open":
            problems.append("layer cycle: " + " -> ".join(stack + [node, nxt]))
        elif nxt not in state:
            visit(nxt, stack + [node])
    state[node] = "done"


for layer in sorted(edges):
    if layer not in state:
        visit(layer, [])

layers = sorted({layer_of(p.relative_to(root).as_posix()) for p in root.rglob("*.hpp")}
                - {"config"})
layers = [l for l in layers if not l.startswith("umbrella:")]
print("| layer | includes |")
print("| --- | --- |")
for layer in layers:
    print(f"| {layer} | {', '.join(sorted(edges.get(layer, ()))) or '(nothing of continua)'} |")
if "--check" in sys.argv:
    for p in problems:
        print("include-graph:", p, file=sys.stderr)
    sys.exit(1 if problems else 0)
