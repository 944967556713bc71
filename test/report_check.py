#!/usr/bin/env python3
"""Check an HTML report of "migration-split report" for the TAP tests.

Parses the file with a strict XML parser (the report is written in XHTML
syntax, so any unbalanced or unescaped markup fails here), then prints one
JSON object the test asserts on: the ids of the sections, the domains with
a section, the number of inline SVG graphs, every link that points to an id
missing from the page, external references (scripts, stylesheets, images,
links leaving the page) and the page's text.

    python3 test/report_check.py report.html
"""
import json
import sys
import xml.etree.ElementTree as ET

XHTML = "{http://www.w3.org/1999/xhtml}"
SVG = "{http://www.w3.org/2000/svg}"


def main(path):
    tree = ET.parse(path)          # raises on anything not well-formed
    root = tree.getroot()
    ids = set()
    links = []
    external = []
    scripts = 0
    svgs = 0
    domain_sections = []
    for el in root.iter():
        tag = el.tag
        if "id" in el.attrib:
            ids.add(el.attrib["id"])
        if tag == XHTML + "script":
            scripts += 1
        if tag == SVG + "svg":
            svgs += 1
        if tag == XHTML + "section" and el.attrib.get("class") == "domain":
            domain_sections.append(el.attrib["id"][len("domain-"):])
        for attr in ("href", "src", "{http://www.w3.org/1999/xlink}href"):
            v = el.attrib.get(attr)
            if v is None:
                continue
            if v.startswith("#"):
                links.append(v[1:])
            else:
                external.append(v)
        for attr in el.attrib:
            if attr.lower().startswith("on"):
                external.append("event handler " + attr)
    text = "".join(root.itertext())
    print(json.dumps({
        "domain_sections": domain_sections,
        "ids": sorted(ids),
        "svgs": svgs,
        "scripts": scripts,
        "broken_links": sorted(set(l for l in links if l not in ids)),
        "links": len(links),
        "external": external,
        "text": text,
    }))


if __name__ == "__main__":
    main(sys.argv[1])
