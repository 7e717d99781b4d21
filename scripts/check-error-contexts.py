#!/usr/bin/env python3
"""Every error message continua raises starts with one context format,
"continua::<family>::<component>::<call>: " (or "continua::<function>: " for core free
functions). This finds string literals in the headers that name a call site in another form
("ewc.consolidate", "gradient_projection::load", "optim.update") and lists them; exits 1 if any.
Checkpoint kinds ("regularize.ewc", "optim.chain") are file-format identifiers, not contexts, and
are recognised by where they appear."""
import re
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "include" / "continua"
# A literal that opens with word(.word|::word)+ followed by the end of the literal or ": ".
context_re = re.compile(r'"((?:[a-z_][a-z0-9_]*)(?:(?:\.|::)[a-z_][a-z0-9_]*)+)(?=":?|: )')
kind_lines = re.compile(r"checkpoint_kind|\"options\.|kind\s*=|joined_name<\"regularize\.|\.ckpt|record|"
                        r"#include|require_kind")
problems = []
for path in sorted(root.rglob("*.hpp")):
    rel = path.relative_to(root).as_posix()
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("//") or kind_lines.search(line):
            continue
        for m in context_re.finditer(line):
            text = m.group(1)
            if text.startswith("continua::"):
                continue
            problems.append(f"{rel}:{n}: context '{text}' is not 'continua::<family>::...'")
for p in problems:
    print(p)
print(f"check-error-contexts: {len(problems)} contexts in another form", file=sys.stderr)
sys.exit(1 if problems else 0)
