"""The status page's own stylesheet and script, read once from the package, each with a content hash.

Their URLs carry the hash (`/static/status.css?v=…`), so a browser may keep them for good: a new
release has new URLs. An old or missing hash is still answered, but not to be kept.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib.resources import files

_MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
NAMES = ("status.css", "status.js")
KEEP = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


@dataclass(frozen=True)
class Asset:
    """One static file: its bytes, content type and content hash."""

    name: str
    body: bytes
    media_type: str
    version: str

    @property
    def url(self) -> str:
        """Where the page links it, hash included."""
        return f"/static/{self.name}?v={self.version}"

    def cache_control(self, asked_version: str | None) -> str:
        """Kept for a year when asked by its current hash, else revalidated each time."""
        return KEEP if asked_version == self.version else REVALIDATE


def load() -> dict[str, Asset]:
    """Every asset of exporter/web/static, by file name."""
    folder = files("exporter.web").joinpath("static")
    loaded = {}
    for name in NAMES:
        body = folder.joinpath(name).read_bytes()
        suffix = name[name.rindex(".") :]
        loaded[name] = Asset(name, body, _MEDIA_TYPES[suffix], hashlib.sha256(body).hexdigest()[:16])
    return loaded
