#!/usr/bin/env python3
"""An outside check of the FHIR R4 JSON that MediGate exports.

    check_fhir.py PATH...

Every PATH is a JSON file or a directory (searched recursively for
`*.json`). Each file holds one FHIR resource; it is parsed with the model
class of its `resourceType` from the PyPI package `fhir.resources` 6.4.0,
the last release whose models are FHIR R4 (4.0.1): the classes are
`fhir.resources.<resource type in lower case>.<ResourceType>` (e.g.
`fhir.resources.bundle.Bundle`), looked up with
`fhir.resources.get_fhir_model_class`. A Bundle is parsed as a Bundle,
its entries' resources with it. The models refuse unknown elements,
missing required elements and badly formed primitives (dates, ids...);
they do not check codes against value sets or FHIR's invariants, which
MediGate's own validator (`medigate_fhir::validate`) and this check do not
share: the point is a second opinion written by someone else.

One line per file that fails (`FILE: ELEMENT: ERROR; ...`), then
`checked N resources (M files), F failed`, N counting each file's resource
and the resources of its Bundle entries, F the files that failed.

Exit status: 0 all valid, 1 some failed, 2 nothing to check (no paths, a
path that does not exist, no JSON file) or `fhir.resources` R4 not
installed. `scripts/setup.sh` installs it into the virtual environment
`~/.cache/medigate/venv`; run by another interpreter, this script starts
itself again with that environment's Python.
"""

import json
import os
import sys
from pathlib import Path

VENV = Path(os.environ.get("MEDIGATE_VENV", Path.home() / ".cache/medigate/venv"))
FHIR_VERSION = "4.0.1"
# At most this many errors of one file are printed on its line.
ERRORS_SHOWN = 5


def usage(message):
    print(f"check_fhir.py: {message}", file=sys.stderr)
    print("usage: check_fhir.py PATH... (FHIR JSON files or directories of them)", file=sys.stderr)
    sys.exit(2)


def load_models():
    """`fhir.resources.get_fhir_model_class`, from this interpreter or the venv's."""
    try:
        import fhir.resources as models
    except ImportError:
        python = VENV / "bin" / "python"
        if python.exists() and Path(sys.prefix).resolve() != VENV.resolve():
            os.execv(str(python), [str(python), *sys.argv])
        print(
            f"check_fhir.py: fhir.resources is not installed (looked in {VENV}); run scripts/setup.sh",
            file=sys.stderr,
        )
        sys.exit(2)
    if getattr(models, "__fhir_version__", None) != FHIR_VERSION:
        print(
            f"check_fhir.py: fhir.resources {getattr(models, '__version__', '?')} has FHIR "
            f"{getattr(models, '__fhir_version__', '?')} models, not R4 ({FHIR_VERSION}); "
            "run scripts/setup.sh",
            file=sys.stderr,
        )
        sys.exit(2)
    return models.get_fhir_model_class


def json_files(paths):
    files = []
    for arg in paths:
        path = Path(arg)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            usage(f"{arg}: no such file or directory")
    if not files:
        usage("no JSON files to check")
    return files


def count_resources(resource):
    """The resource and those of its Bundle entries, nested Bundles included."""
    count = 1
    if resource.get("resourceType") == "Bundle":
        for entry in resource.get("entry") or []:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                count += count_resources(entry["resource"])
    return count


def element_path(resource_type, loc):
    """pydantic's error location as a FHIRPath-like path: Bundle.entry[0].resource.code."""
    path = resource_type
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def check(path, model_class):
    """(resources in the file, None) when valid, else (resources, error text)."""
    try:
        with open(path, encoding="utf-8") as file:
            resource = json.load(file)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        return 0, f"not JSON: {error}"
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return 0, "not a FHIR resource: no resourceType"
    resource_type = resource["resourceType"]
    resources = count_resources(resource)
    try:
        model = model_class(resource_type)
    except KeyError:
        return resources, f"unknown resource type {resource_type!r}"
    try:
        model.parse_obj(resource)
    except Exception as error:  # pydantic's ValidationError, or a model's own
        errors = getattr(error, "errors", None)
        if not callable(errors):
            return resources, f"{resource_type}: {error}"
        details = [
            f"{element_path(resource_type, item['loc'])}: {item['msg']}" for item in errors()
        ]
        more = len(details) - ERRORS_SHOWN
        text = "; ".join(details[:ERRORS_SHOWN])
        return resources, text + (f" (and {more} more)" if more > 0 else "")
    return resources, None


def main(argv):
    if not argv:
        usage("no paths given")
    files = json_files(argv)
    model_class = load_models()
    resources = failed = 0
    for path in files:
        count, error = check(path, model_class)
        resources += count
        if error is not None:
            failed += 1
            print(f"{path}: {error}")
    print(f"checked {resources} resources ({len(files)} files), {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
