"""Web pages shared by every domain: login, logout, language, home."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import login_required

web_bp = Blueprint("web", __name__)


@web_bp.route("/")
@login_required
def home():
    return redirect(url_for("web.login"))


@web_bp.route("/login")
def login():
    return "login"
