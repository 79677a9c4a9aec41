"""The dispatch sheet (派工单): a printable A4 page and the same page as a PDF.

``?lang=zh_CN`` or ``?lang=en`` prints it in that language whatever the user's setting
(a sheet for a station that reads the other one); otherwise the user's language. An
order outside the user's scope is 404, as everywhere.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, render_template, request
from flask_babel import force_locale, get_locale, to_user_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from callcenter import assets
from callcenter.auth import permission_required
from callcenter.db import db_session
from callcenter.users.permissions import Permission
from repairs.pdf import html_to_pdf
from repairs.presenters import WARRANTY_LABELS
from repairs.sheet import dispatch_sheet
from repairs.views import repairs_bp

LANGS = ("zh_CN", "en")
#: What every technician takes along; the order's parts are listed above it.
TOOLS = (_l("Standard tool kit"), _l("Multimeter"), _l("Diagnostic laptop and cable"),
         _l("Shoe covers and cleaning cloth"))


def _lang() -> str:
    asked = request.args.get("lang", "")
    if asked in LANGS:
        return asked
    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def _render(order_id: int, *, pdf: bool) -> tuple[str, str]:
    sheet = dispatch_sheet(db_session(), current_user, order_id)
    lang = _lang()
    now = datetime.now(UTC)
    with force_locale(lang):
        html = render_template(
            "repairs/dispatch_sheet.html", sheet=sheet, lang=lang, pdf=pdf, now=now,
            today=to_user_timezone(now).date(),
            tools=[str(t) for t in TOOLS],
            warranty_labels={k: str(v) for k, v in WARRANTY_LABELS.items()})
    return html, sheet.number


@repairs_bp.route("/<int:order_id>/dispatch-sheet")
@permission_required(Permission.REPAIR_READ)
def dispatch_sheet_page(order_id: int):
    html, _number = _render(order_id, pdf=False)
    return html


@repairs_bp.route("/<int:order_id>/dispatch-sheet.pdf")
@permission_required(Permission.REPAIR_READ)
def dispatch_sheet_pdf(order_id: int):
    html, number = _render(order_id, pdf=True)
    pdf = html_to_pdf(html, base_url=request.url_root, static_dir=assets.static_dir())
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="dispatch-sheet-{number}-{_lang()}.pdf"')
    response.headers["Cache-Control"] = "private, no-store"
    return response
