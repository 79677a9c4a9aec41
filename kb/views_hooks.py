"""Where the knowledge base shows on other domains' pages, through template hooks (an
``{% include "kb/..." ignore missing %}`` in their templates and a template global
here): suggested entries on a ticket's page, and "make an article from this resolved
ticket" for editors."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from callcenter.db import db_session
from callcenter.products.services import ProductNotFound, get_product
from callcenter.users.permissions import Permission, has_permission
from kb import suggest
from kb.items import may_edit
from kb.views import kb_bp


@kb_bp.app_template_global()
def kb_for_ticket(ticket) -> dict[str, Any]:
    """For the ticket's page: entries matching its subject and description (those for
    its product's model first), and whether the user may write an article from it."""
    if not (current_user.is_authenticated
            and has_permission(current_user.role, Permission.KB_READ)):
        return {"show": False}
    dbs = db_session()
    models = []
    if ticket.installed_product_id:
        try:
            models.append(get_product(dbs, current_user, ticket.installed_product_id).model)
        except ProductNotFound:
            pass   # outside the user's scope: no model to prefer
    hits = suggest.for_problem(dbs, f"{ticket.subject} {ticket.description or ''}", models)
    can_write = may_edit(current_user) and ticket.status.value in ("resolved", "closed")
    return {"show": bool(hits) or can_write, "hits": hits, "can_write": can_write}
