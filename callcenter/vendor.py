"""``/vendor/<name>``: the browser libraries npm installs (``callcenter.assets.VENDOR_FILES``)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_from_directory

from callcenter.assets import vendor_file

vendor_bp = Blueprint("vendor", __name__)


@vendor_bp.route("/vendor/<path:name>")
def library(name: str) -> Response:
    path = vendor_file(name)
    if path is None:
        abort(404)
    if not path.is_file():
        abort(404, description="browser libraries are missing: run `npm ci`")
    return send_from_directory(path.parent, path.name, max_age=3600)
