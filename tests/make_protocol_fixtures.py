"""Derive the project's protocol fixtures (``tests/data/protocol/``) from the reference examples.

The message fixtures and session logs the tests decode live in ``tests/data/protocol/`` so
that a fresh clone runs every test. They are derived from the reference material that sits
beside the repository during development (``../shared/protocol/examples/``: one JSON file per
message type and variant of each channel, in both directions, and a few session logs) by this
script, which:

* keeps each message's structure (types, field names, value types): that is the protocol;
* gives every illustrative identifier a value of its own (each UUID becomes a name-based
  UUID derived from it, so the same identifier stays the same across files and sessions);
* writes the JSON in one layout (2-space indent, UTF-8, a final newline).

Run it again when the reference changes::

    python tests/make_protocol_fixtures.py          # rewrite tests/data/protocol/
    python tests/make_protocol_fixtures.py --check  # exit 1 if they differ from a fresh derivation

``pytest --shared`` runs the same check (``tests/test_protocol_fixtures.py``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "protocol" / "examples"
TARGET = ROOT / "tests" / "data" / "protocol"

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "rxdeepgram:test-fixtures")


def derive_id(reference_id: str) -> str:
    """The project's identifier for one of the reference's UUIDs (name-based, stable)."""
    return str(uuid.uuid5(_NAMESPACE, reference_id.lower()))


def _own_uuid(match: re.Match[str]) -> str:
    return derive_id(match.group(0))


def _rewrite(value: Any) -> Any:
    if isinstance(value, str):
        return _UUID.sub(_own_uuid, value)
    if isinstance(value, list):
        return [_rewrite(item) for item in value]
    if isinstance(value, dict):
        return {key: _rewrite(item) for key, item in value.items()}
    return value


def derive(reference: Path = REFERENCE) -> dict[str, str]:
    """Relative path -> file text, for every fixture and session of ``reference``."""
    files: dict[str, str] = {}
    for path in sorted(reference.rglob("*")):
        relative = path.relative_to(reference).as_posix()
        if path.suffix == ".json":
            data = _rewrite(json.loads(path.read_text(encoding="utf-8")))
            files[relative] = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        elif path.suffix == ".jsonl":
            lines = [
                json.dumps(_rewrite(json.loads(line)), ensure_ascii=False)
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
            files[relative] = "\n".join(lines) + "\n"
    return files


def current(target: Path = TARGET) -> dict[str, str]:
    """What ``tests/data/protocol/`` holds now (its README excepted)."""
    return {
        path.relative_to(target).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(target.rglob("*"))
        if path.suffix in (".json", ".jsonl")
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    if not REFERENCE.is_dir():
        print(f"{REFERENCE} is not there", file=sys.stderr)
        return 2
    derived = derive()
    if args.check:
        differ = sorted(set(derived) ^ set(current())) + sorted(
            name for name, text in derived.items() if current().get(name, text) != text
        )
        for name in differ:
            print(f"differs: {name}")
        return 1 if differ else 0
    for name in current():
        if name not in derived:
            (TARGET / name).unlink()
    for name, text in derived.items():
        path = TARGET / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(derived)} files to {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
