"""``/tech``: the technician's phone view, installable as a PWA.

The page is a shell (``tech/index.html``) that the phone caches; the day's jobs come as
JSON from ``/api/v1/tech/jobs`` and changes go to ``/api/v1/tech/sync``
(``repairs.api_tech``). The service worker is served from here (``/tech/sw.js``) so that
its scope is ``/tech``, and the web app manifest too, in the user's language.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_babel import pgettext
from flask_login import login_required

from callcenter import assets
from callcenter.auth import permission_required
from callcenter.users.permissions import Permission

tech_bp = Blueprint("tech", __name__, url_prefix="/tech")
SCOPE = "/tech"


@tech_bp.route("", strict_slashes=False)
@login_required
@permission_required(Permission.REPAIR_READ)
def index():
    response = current_app.make_response(render_template("tech/index.html"))
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@tech_bp.route("/sw.js")
def service_worker():
    """The service worker, with its scope allowed to be ``/tech`` itself."""
    source = (assets.static_dir() / "js" / "tech" / "sw.js").read_text(encoding="utf-8")
    response = Response(source, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = SCOPE
    response.headers["Cache-Control"] = "no-cache"
    return response


@tech_bp.route("/manifest.webmanifest")
def manifest():
    response = jsonify({
        "name": _("Service Desk: my jobs"), "short_name": pgettext("tech", "My jobs"),
        "start_url": url_for("tech.index"), "scope": SCOPE, "display": "standalone",
        "background_color": "#ffffff", "theme_color": "#1d4ed8",
        # PNGs of 192 and 512 pixels make it installable (scripts/make_icons.py).
        "icons": [{"src": url_for("static", filename="img/favicon.svg"),
                   "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
                  {"src": url_for("static", filename="img/icon-192.png"),
                   "sizes": "192x192", "type": "image/png", "purpose": "any"},
                  {"src": url_for("static", filename="img/icon-512.png"),
                   "sizes": "512x512", "type": "image/png", "purpose": "any"},
                  {"src": url_for("static", filename="img/icon-maskable-512.png"),
                   "sizes": "512x512", "type": "image/png", "purpose": "maskable"}],
    })
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "no-cache"
    return response
