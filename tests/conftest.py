from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PROTOCOL = SHARED / "protocol"
EXAMPLES = PROTOCOL / "examples"
SPEC = SHARED / "spec" / "asyncapi.yml"

requires_shared = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="../shared (protocol fixtures and spec) is not beside the repo"
)
