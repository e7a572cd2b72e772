"""The project's protocol fixtures (``tests/data/protocol/``) against the reference they are
derived from.

Every other test reads the fixtures in ``tests/data/protocol/``; these check, with
``pytest --shared`` (the reference beside the repository), that they are exactly what
``tests/make_protocol_fixtures.py`` derives from ``../shared/protocol/examples/``, so a change
of the reference shows up as a failure here rather than as stale fixtures.
"""

from __future__ import annotations

import json

import make_protocol_fixtures as fixtures
import pytest
from conftest import EXAMPLES


def test_every_fixture_is_json_named_after_its_type() -> None:
    files = fixtures.current(EXAMPLES)
    assert len([name for name in files if name.endswith(".json")]) >= 70
    for name, text in files.items():
        if name.endswith(".json"):
            assert json.loads(text)["type"] == name.rsplit("/", 1)[1].split(".")[0], name


def test_every_session_names_existing_fixtures() -> None:
    files = fixtures.current(EXAMPLES)
    sessions = [name for name in files if name.startswith("sessions/")]
    assert len(sessions) >= 9
    for name in sessions:
        for line in files[name].splitlines():
            frame = json.loads(line)
            if "fixture" in frame:
                assert frame["fixture"] in files, (name, frame["fixture"])


def test_identifiers_are_the_project_s_own() -> None:
    """No UUID of the reference is kept: each is replaced by one derived from it."""
    assert fixtures.derive_id("1b671712-4fe5-41e4-ac34-6de3810e33b1") != (
        "1b671712-4fe5-41e4-ac34-6de3810e33b1"
    )
    text = "".join(fixtures.current(EXAMPLES).values())
    assert "1b671712-4fe5-41e4-ac34-6de3810e33b1" not in text
    assert fixtures.derive_id("1b671712-4fe5-41e4-ac34-6de3810e33b1") in text


@pytest.mark.shared
def test_fixtures_are_derived_from_the_reference() -> None:
    derived = fixtures.derive(fixtures.REFERENCE)
    current = fixtures.current(EXAMPLES)
    assert sorted(current) == sorted(derived)
    for name, text in derived.items():
        assert current[name] == text, f"{name} is stale: run python tests/make_protocol_fixtures.py"
