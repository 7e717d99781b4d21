#!/usr/bin/env python3
"""Doxygen input filter: continua documents its headers with plain // comments (style.md), so
this turns them into Doxygen comments on the fly. The lines before `#pragma once` become the
file's description; a // block directly above a declaration becomes that declaration's
documentation; trailing // comments on a line are left alone."""
import re
import sys

lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
out = []
in_header = True
for line in lines:
    if in_header:
        if line.startswith("#pragma once"):
            in_header = False
            out.append(line)
            continue
        m = re.match(r"^// ?(.*)$", line)
        if m:
            prefix = "/// \\file\n/// " if not out else "/// "
            out.append(prefix + m.group(1))
            continue
        out.append(line)
        continue
    m = re.match(r"^(\s*)// ?(.*)$", line)
    if m and not m.group(2).startswith("----"):
        out.append(m.group(1) + "/// " + m.group(2))
    else:
        out.append(line)
sys.stdout.write("\n".join(out))
