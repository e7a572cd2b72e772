"""The package version and the ``User-Agent`` every connection sends."""

import platform

__version__ = "0.1.0.dev0"

USER_AGENT = (
    f"rxdeepgram/{__version__} python/{platform.python_version()} ({platform.system().lower()})"
)
