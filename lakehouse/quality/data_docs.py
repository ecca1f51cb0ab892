"""Data Docs views for the lakehouse's GX site: GX's own page views, with one Jinja environment per process.

GX's ``SiteBuilder`` creates new views, and so a new Jinja environment, on every ``build_data_docs``
call, and a new environment compiles every page template again: about 0.3 s a page on a 2-core
machine, most of a page's cost. These subclasses keep GX's templates, filters and output unchanged and
share the first instance's environment (and its compiled templates) with every later instance of the
same class and custom directories. Jinja environments are safe to render from several threads.

GX loads them by name from the site configuration (``lakehouse.quality.validation``); importing this
module imports GX, so nothing else imports it.
"""

from __future__ import annotations

import threading
from typing import Any

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

_environments: dict[tuple[Any, ...], Any] = {}
_lock = threading.Lock()


class _SharedEnvironment:
    """Reuse the Jinja environment of the first view built with the same class and directories."""

    env: Any

    def __init__(
        self, custom_styles_directory: str | None = None, custom_views_directory: str | None = None
    ) -> None:
        key = (type(self), custom_styles_directory, custom_views_directory)
        with _lock:
            environment = _environments.get(key)
            if environment is None:
                super().__init__(  # type: ignore[call-arg]
                    custom_styles_directory=custom_styles_directory,
                    custom_views_directory=custom_views_directory,
                )
                _environments[key] = self.env
                return
        # The filters of a shared environment are bound to its first view: same class, same directories.
        self.custom_styles_directory = custom_styles_directory
        self.custom_views_directory = custom_views_directory
        self.env = environment


class SharedJinjaPageView(_SharedEnvironment, DefaultJinjaPageView):
    """GX's page view (suite and validation pages)."""


class SharedJinjaIndexPageView(_SharedEnvironment, DefaultJinjaIndexPageView):
    """GX's index page view."""
