"""Data Docs on an object store: GX writes its site to a local directory only, so for an ``s3://`` location
the site is rendered into a staging directory of this process and every file the render wrote or changed is
copied to the location, through the lake's storage settings (the standard ``AWS_*`` ones).

A step of a cluster deployment runs in a short-lived process or container; its local files are gone when it
ends, while the lake's object store is where every step and every reader already looks.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from lakehouse.lake.storage import filesystem, join_uri


class PublishedSite:
    """A local Data Docs directory mirrored to ``location`` after each render."""

    def __init__(self, location: str) -> None:
        self.location = location.rstrip("/")
        self.local_dir = Path(tempfile.mkdtemp(prefix="lakehouse-data-docs-"))
        atexit.register(shutil.rmtree, self.local_dir, ignore_errors=True)
        self._copied: dict[Path, tuple[int, int]] = {}

    def publish(self) -> None:
        """Copy the files written or changed since the last call (pages, the index, static assets once)."""
        store, base = filesystem(self.location)
        for path in sorted(p for p in self.local_dir.rglob("*") if p.is_file()):
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if self._copied.get(path) == stamp:
                continue
            relative = path.relative_to(self.local_dir).as_posix()
            with store.open_output_stream(f"{base}/{relative}") as out:
                out.write(path.read_bytes())
            self._copied[path] = stamp

    def uri_of(self, local_path: Path) -> str:
        """Where a file of the staging directory is published."""
        return join_uri(self.location, local_path.relative_to(self.local_dir).as_posix())
