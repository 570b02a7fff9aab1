"""The reviewer page at ``/governance/`` (behind ``--static-prefix`` when one is set).

One HTML page with its script and stylesheet, all served by the app (no CDN: it works offline).
The page calls the ``/ajax-api`` REST API with the browser's credentials, so it shows and allows
exactly what the logged-in user may see and do.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from mlflow_registry_ext import routes

__all__ = ["page_blueprint"]


def page_blueprint(prefix: str) -> Blueprint:
    """The page and its static files under ``<prefix>/governance/``."""
    base = prefix + routes.PAGE_PATH.rstrip("/")
    page = Blueprint(
        "mlflow_registry_ext_page",
        __name__,
        url_prefix=base,
        static_folder="static",
        static_url_path="/static",
        template_folder="templates",
    )

    @page.route("/", strict_slashes=False)
    def index():
        return render_template(
            "governance.html",
            api_base=prefix + routes.AJAX_PREFIX,
            ui_base=prefix + "/",
            static_base=base + "/static",
        )

    return page
