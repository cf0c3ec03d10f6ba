#!/usr/bin/env python3
# Writes a synthetic ontology of the size and shape of RealEstateCore as published for Azure
# Digital Twins (Azure/opendigitaltwins-building: 767 interfaces, one per file, DTDL v3 with the
# quantitativeTypes extension, every file starting with a UTF-8 byte order mark, extends chains up
# to 9 levels deep). docs/models.md's load-time measurement uses it, since the machine that
# measured cannot reach GitHub:  tools/gen/gen-bom-ontology.py /tmp/rec-like [767]
import json, os, random, sys

out = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 767
rng = random.Random(13)
NS = "dtmi:doppel:synthetic:rec:"
roots = ["Space", "Asset", "Agent", "Collection", "Capability", "Event", "Document", "LogicalDevice"]
quantities = [("Temperature", "degreeCelsius"), ("Area", "squareMetre"), ("Power", "kilowatt"),
              ("Pressure", "pascal"), ("Length", "metre"), ("Mass", "kilogram"), ("TimeSpan", "second"),
              ("VolumeFlowRate", "cubicMetrePerSecond"), ("Voltage", "volt"), ("Current", "ampere")]
nodes = []  # (name, parent, depth, root)
for r in roots:
    nodes.append((r, None, 1, r))
while len(nodes) < count:
    # Deeper nodes are picked more often, so chains reach the depth REC has (9 levels).
    parent = rng.choice([n for n in nodes if n[2] < 9] + [n for n in nodes if 3 <= n[2] < 9])
    name = f"{parent[3]}Kind{len(nodes)}"
    nodes.append((name, parent[0], parent[2] + 1, parent[3]))

def iface(name, parent, depth, root, i):
    contents = [
        {"@type": "Property", "name": f"label{i}", "schema": "string", "displayName": {"en": f"label {i}"}},
        {"@type": ["Property", quantities[i % len(quantities)][0]], "name": f"rated{i}", "schema": "double",
         "unit": quantities[i % len(quantities)][1], "writable": True},
        {"@type": "Property", "name": f"kind{i}", "schema": {"@type": "Enum", "valueSchema": "string",
         "enumValues": [{"name": f"v{k}", "enumValue": f"v{k}"} for k in range(4)]}},
        {"@type": "Relationship", "name": f"rel{i}", "target": NS + rng.choice(roots) + ";1",
         "displayName": {"en": f"relation {i}"}},
    ]
    if i % 7 == 0:
        contents.append({"@type": "Property", "name": f"tags{i}", "schema": {"@type": "Map",
                         "mapKey": {"name": "key", "schema": "string"}, "mapValue": {"name": "value", "schema": "string"}}})
    if i % 11 == 0:
        contents.append({"@type": "Relationship", "name": f"feeds{i}", "properties": [
            {"@type": "Property", "name": "medium", "schema": "string"}]})
    if i % 5 == 0:
        contents.append({"@type": ["Telemetry", quantities[(i + 3) % len(quantities)][0]], "name": f"reading{i}",
                         "schema": "double", "unit": quantities[(i + 3) % len(quantities)][1]})
    doc = {"@id": NS + name + ";1", "@type": "Interface", "displayName": {"en": name},
           "description": {"en": f"A synthetic {root} class at depth {depth}."}, "contents": contents,
           "@context": ["dtmi:dtdl:context;3", "dtmi:dtdl:extension:quantitativeTypes;1"]}
    if parent:
        doc["extends"] = NS + parent + ";1"
    return doc

paths = {}
for i, (name, parent, depth, root) in enumerate(nodes):
    paths[name] = (paths[parent] + "/" if parent else "") + name
    p = os.path.join(out, "Ontology", paths[name] + ".json")
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", encoding="utf-8-sig") as f:  # utf-8-sig writes the byte order mark
        json.dump(iface(name, parent, depth, root, i), f, indent=2)
print(f"{len(nodes)} interfaces, deepest extends chain {max(n[2] for n in nodes)} levels, under {out}/Ontology")
