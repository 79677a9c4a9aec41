"""Every page of the office's repairs blueprint, imported once so each module's routes
are registered (the app registers ``repairs_bp`` from here)."""

from repairs import views_catalogue, views_sheet, views_stock  # noqa: F401  (routes)
from repairs.views import repairs_bp

__all__ = ["repairs_bp"]
