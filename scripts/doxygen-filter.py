#!/usr/bin/env python3
"""Doxygen input filter: continua documents its headers with plain // comments (style.md), so
this turns them into Doxygen comments on the fly. The lines before `#pragma once` become the
file's description; a // block directly above a declaration becomes that declaration's
documentation (a block set apart by a blank line stays a plain comment); trailing // comments
on a line are left alone. `<` outside `code spans` is escaped, so `std::vector<T>` or `template <class V>` in a comment is text, not an HTML tag. Every
output line stays on its input line, so Doxygen's warnings and the check's locations name the
real line."""
import re
import sys

lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
out = []
in_header = True
header_last = None  # index in out of the last file-description line


def attached_blocks():
    """attached[i]: line i is in a // block directly above a declaration. A block followed by a
    blank line, a closing brace or a preprocessor line (other than #define) explains the code
    around it; made a Doxygen comment, it would be glued to whatever declaration comes next."""
    attached = [False] * len(lines)
    i = 0
    while i < len(lines):
        if not re.match(r"^\s*//", lines[i]):
            i += 1
            continue
        j = i
        while j < len(lines) and re.match(r"^\s*//", lines[j]):
            j += 1
        nxt = lines[j].strip() if j < len(lines) else ""
        ok = bool(nxt) and not nxt.startswith("}") and (not nxt.startswith("#") or
                                                        nxt.startswith("#define"))
        for k in range(i, j):
            attached[k] = ok
        i = j
    return attached


attached = attached_blocks()


def escape(text):
    """Outside `code spans`, `<` starts an HTML tag for Doxygen: `std::vector<T>` or `template
    <class V>` in a comment would be read as tags (and warned about), so escape it."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "\\<")
    return "`".join(parts)


def comment(indent, text):
    return indent + "/// " + escape(text)


for line in lines:
    if in_header:
        m = re.match(r"^// ?(.*)$", line)
        if line.startswith("#pragma once"):
            in_header = False
            if header_last is not None:
                out[header_last] += " \\file"
            out.append(line)
            continue
        if m:
            out.append(comment("", m.group(1)))
            header_last = len(out) - 1
            continue
        out.append(line)
        continue
    m = re.match(r"^(\s*)// ?(.*)$", line)
    if m and attached[len(out)] and not m.group(2).startswith("----"):
        out.append(comment(m.group(1), m.group(2)))
    else:
        out.append(line)
sys.stdout.write("\n".join(out))
