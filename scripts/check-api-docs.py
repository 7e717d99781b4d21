#!/usr/bin/env python3
"""Fails when a public component has no documentation. Reads Doxygen's XML (build/docs/xml):
every class, struct, free function, concept and type alias in a continua namespace outside
`detail` must carry a description. Protocol members (init, update, fields, ...) are documented
once by the concept they satisfy, so class members are not required one by one."""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

xml_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "build/docs/xml")
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
        if not nested and not described(doc):
            loc = doc.find("location")
            missing.append(f"{loc.get('file')}:{loc.get('line')}: {kind} {name}")
    elif kind == "namespace":
        for member in doc.iter("memberdef"):
            if member.get("kind") in ("function", "typedef", "variable") and not described(member):
                loc = member.find("location")
                missing.append(f"{loc.get('file')}:{loc.get('line')}: "
                               f"{member.get('kind')} {name}::{member.findtext('name')}")

for m in sorted(set(missing)):
    print(m)
print(f"check-api-docs: {len(set(missing))} undocumented public components", file=sys.stderr)
sys.exit(1 if missing else 0)
