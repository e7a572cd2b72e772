"""Which audio container a byte stream starts with, from its magic bytes.

One table for the command line (which decides what it may send untouched) and the local server
(which tells a container from raw audio on a stream that names no ``encoding``).
"""

from __future__ import annotations

__all__ = ["CONTAINERS", "detect_container"]

CONTAINERS = ("mp3", "flac", "ogg", "webm", "mp4", "aiff", "amr")
"""Compressed containers recognised by their first bytes (besides ``wav``)."""

_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"RIFF", 0, "wav"),
    (b"RF64", 0, "wav"),
    (b"OggS", 0, "ogg"),
    (b"fLaC", 0, "flac"),
    (b"\x1a\x45\xdf\xa3", 0, "webm"),
    (b"ID3", 0, "mp3"),
    (b"#!AMR", 0, "amr"),
    (b"ftyp", 4, "mp4"),
    (b"FORM", 0, "aiff"),
)


def detect_container(head: bytes) -> str | None:
    """``"wav"``, one of :data:`CONTAINERS`, or ``None`` for bytes that start no known one. A
    RIFF file that says it is not ``WAVE`` (an AVI, say) is none of them."""
    for magic, offset, name in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            if name == "wav" and len(head) >= 12 and head[8:12] != b"WAVE":
                return None
            return name
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE6 in (0xE2, 0xE4, 0xE6):
        return "mp3"  # an MPEG audio frame sync (layer III/II/I) without an ID3 tag
    return None
