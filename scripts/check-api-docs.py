#!/usr/bin/env python3
"""Fails when a public component has no documentation. Reads Doxygen's XML (build/docs/xml):
every class, struct, free function, concept and type alias in a continua namespace outside
`detail` must carry a description. Protocol members (init, update, fields, ...) are documented
once by the concept they satisfy, so class members are not required one by one.

Usage: check-api-docs.py [XML_DIR] [--dirs core,optim,config.hpp,...] [--warnings LOG]
--dirs limits the check to components declared under those paths of include/continua/ (a folder
or a header; each must exist); without it every public component is checked. --warnings LOG
fails on each Doxygen warning in LOG about a file in scope, or about no header at all."""
import re
import argparse
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

parser = argparse.ArgumentParser()
parser.add_argument("xml_dir", nargs="?", default="build/docs/xml")
parser.add_argument("--dirs", default="", help="comma-separated paths under include/continua/")
parser.add_argument("--warnings", help="Doxygen's WARN_LOGFILE")
args = parser.parse_args()
xml_dir = Path(args.xml_dir)
dirs = [d.strip().strip("/") for d in args.dirs.split(",") if d.strip()]
root = Path(__file__).resolve().parent.parent / "include" / "continua"
for d in dirs:
    if not (root / d).exists():
        sys.exit(f"check-api-docs: --dirs names {d}, which is not under {root}")


def in_scope(file):
    if not dirs:
        return True
    rel = file.replace("\\", "/").split("include/continua/", 1)[-1]
    return any(rel == d or rel.startswith(d + "/") for d in dirs)


# Doxygen warnings: a warning starts with "path:line:"; the lines after it continue it.
warnings = []
if args.warnings:
    for line in Path(args.warnings).read_text(encoding="utf-8", errors="replace").splitlines():
        m = re.match(r"^(\S+?):\d+:", line)
        if m or not warnings:
            file = m.group(1) if m else ""
            keep = "include/continua/" not in file or in_scope(file)
            warnings.append([keep, line])
        else:
            warnings[-1][1] += "\n" + line
    # Doxygen repeats a warning for each pass over the file: report each once.
    warnings = list(dict.fromkeys(text for keep, text in warnings if keep))
    for text in warnings:
        print(text)
    if warnings:
        print(f"check-api-docs: {len(warnings)} Doxygen warnings (above) are errors",
              file=sys.stderr)

index = ET.parse(xml_dir / "index.xml").getroot()


def described(node):
    text = "".join(node.find("briefdescription").itertext()).strip()
    text += "".join(node.find("detaileddescription").itertext()).strip()
    return bool(text)


def public_name(name):
    return name.startswith("continua") and "detail" not in name.split("::")


missing = []
for compound in index.findall("compound"):
    kind, name = compound.get("kind"), compound.findtext("name")
    if not public_name(name):
        continue
    doc = ET.parse(xml_dir / (compound.get("refid") + ".xml")).getroot().find("compounddef")
    if kind in ("class", "struct", "concept"):
        # Nested state/slot structs are part of their component's documentation.
        outer = name.rsplit("::", 1)[0]
        nested = any(c.findtext("name") == outer and c.get("kind") in ("class", "struct")
                     for c in index.findall("compound"))
        loc = doc.find("location")
        if not nested and in_scope(loc.get("file")) and not described(doc):
            missing.append(f"{loc.get('file')}:{loc.get('line')}: {kind} {name}")
    elif kind == "namespace":
        for member in doc.iter("memberdef"):
            loc = member.find("location")
            if (member.get("kind") in ("function", "typedef", "variable")
                    and in_scope(loc.get("file")) and not described(member)):
                missing.append(f"{loc.get('file')}:{loc.get('line')}: "
                               f"{member.get('kind')} {name}::{member.findtext('name')}")

for m in sorted(set(missing)):
    print(m)
scope = f" under {', '.join(dirs)}" if dirs else ""
print(f"check-api-docs: {len(set(missing))} undocumented public components{scope}",
      file=sys.stderr)
sys.exit(1 if missing or warnings else 0)
