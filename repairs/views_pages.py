"""Every page of the office's repairs blueprint, imported once so each module's routes
are registered (the app registers ``repairs_bp`` from here)."""

from repairs import (  # noqa: F401  (their routes and template globals on repairs_bp)
    views_actions,
    views_catalogue,
    views_defects,
    views_hooks,
    views_repeats,
    views_sheet,
    views_stock,
)
from repairs.views import repairs_bp

__all__ = ["repairs_bp"]
