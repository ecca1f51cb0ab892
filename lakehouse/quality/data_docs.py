"""The lakehouse's GX Data Docs site: GX's own site builder and page views, with the work GX repeats on
every ``build_data_docs`` call done once per process.

* Views: GX's ``SiteBuilder`` creates new views, and so a new Jinja environment, on every build, and a
  new environment compiles every page template again: about 0.3 s a page on a 2-core machine, most of
  a page's cost. ``SharedJinjaPageView`` and ``SharedJinjaIndexPageView`` keep GX's templates, filters
  and output unchanged and share the first instance's environment (and its compiled templates) with
  every later instance of the same class and custom directories. Jinja environments are safe to render
  from several threads.
* Static assets: every build copies GX's stylesheets and scripts into the site again;
  ``LakehouseSiteBuilder`` copies them once per process and site directory.

GX loads them by name from the site configuration (``lakehouse.quality.validation``); importing this
module imports GX, so nothing else imports it.
"""

from __future__ import annotations

import threading
from typing import Any

from great_expectations.render.renderer.site_builder import SiteBuilder
from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView

_environments: dict[tuple[Any, ...], Any] = {}
_static_copied: set[str] = set()
_static_lock = threading.Lock()
_lock = threading.Lock()


class LakehouseSiteBuilder(SiteBuilder):
    """GX's site builder; the site's static assets are copied on its first build in this process only."""

    # GX passes a builder the parts of its runtime environment that its __init__ names.
    def __init__(
        self,
        data_context: Any,
        store_backend: dict[str, Any],
        site_name: str | None = None,
        runtime_environment: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            data_context=data_context,
            store_backend=store_backend,
            site_name=site_name,
            runtime_environment=runtime_environment,
            **kwargs,
        )
        store = self.target_store
        site = repr(sorted(store_backend.items()))
        copy_all = store.copy_static_assets

        def copy_once(static_assets_source_dir: str | None = None) -> None:
            if static_assets_source_dir is not None:  # GX recursing into a folder of its assets
                copy_all(static_assets_source_dir)
                return
            with _static_lock:
                if site not in _static_copied:
                    copy_all()
                    _static_copied.add(site)

        store.copy_static_assets = copy_once


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
