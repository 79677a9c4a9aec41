"""The user's own account pages: /account/password (change one's password).

A thin shell over ``callcenter.users.account``. Wrong current passwords are throttled
like logins (``callcenter.login_throttle``): a stolen session must not become a way to
guess the password. A rejected form answers 422.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, Length

from callcenter.auth import keep_session
from callcenter.db import db_session
from callcenter.login_throttle import login_throttle
from callcenter.users.account import change_own_password
from callcenter.users.admin import UserFieldError
from callcenter.users.forms import PASSWORD_HINT, apply_user_errors
from callcenter.users.passwords import PASSWORD_MAX_LENGTH

account_bp = Blueprint("account", __name__, url_prefix="/account")

REJECTED = 422


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(),
                                                 Length(max=PASSWORD_MAX_LENGTH)])
    new_password = PasswordField(_l("New password"),
                                 validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)],
                                 description=PASSWORD_HINT)
    confirm_password = PasswordField(_l("New password again"),
                                     validators=[DataRequired(),
                                                 Length(max=PASSWORD_MAX_LENGTH)])


@account_bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = PasswordForm()
    if request.method == "GET":
        return render_template("account/password.html", form=form)
    if not form.validate_on_submit():
        return render_template("account/password.html", form=form), REJECTED
    from callcenter.web import throttled_page
    throttle = login_throttle()
    user = current_user._get_current_object()
    address = request.remote_addr or "unknown"
    wait = throttle.before_attempt(user.username, address)
    if wait:
        return throttled_page(form, "account/password.html", wait)
    try:
        change_own_password(db_session(), user, form.current_password.data,
                            form.new_password.data, form.confirm_password.data)
    except UserFieldError as exc:
        if any(p.field == "current_password" for p in exc.problems):
            throttle.failed(address)
        apply_user_errors(form, exc)
        return render_template("account/password.html", form=form), REJECTED
    throttle.succeeded(user.username, address)
    keep_session(user)  # the other browsers are logged out, this one stays
    flash(_("Your password has been changed. You have been logged out everywhere else."),
          "success")
    return redirect(url_for("web.home"))
