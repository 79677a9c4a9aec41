"""What each role may do. Which *records* it may do it to is the scope's business."""

from __future__ import annotations

import enum

from callcenter.users.models import Role


class Permission(enum.StrEnum):
    CUSTOMER_READ = "customer.read"
    CUSTOMER_CREATE = "customer.create"
    CUSTOMER_UPDATE = "customer.update"
    CUSTOMER_MERGE = "customer.merge"
    CUSTOMER_IMPORT = "customer.import"
    #: Hand a leaving employee's customers to a successor.
    CUSTOMER_REASSIGN = "customer.reassign"
    PRODUCT_WRITE = "product.write"
    USER_MANAGE = "user.manage"
    #: The supervisor's wallboard: queue figures and agents' states (callcenter.wallboard).
    WALLBOARD_VIEW = "wallboard.view"
    #: SLA policies and the working calendar's overrides (tickets.policies).
    SLA_MANAGE = "sla.manage"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Agents create the caller they have on the line and correct their data.
    Role.AGENT: frozenset({Permission.CUSTOMER_READ, Permission.CUSTOMER_CREATE,
                          Permission.CUSTOMER_UPDATE, Permission.PRODUCT_WRITE}),
    # Technicians read the customer and record which equipment they found at whose site.
    Role.TECHNICIAN: frozenset({Permission.CUSTOMER_READ, Permission.PRODUCT_WRITE}),
    Role.SUPERVISOR: frozenset({Permission.CUSTOMER_READ, Permission.CUSTOMER_CREATE,
                               Permission.CUSTOMER_UPDATE, Permission.CUSTOMER_MERGE,
                               Permission.CUSTOMER_IMPORT, Permission.CUSTOMER_REASSIGN,
                               Permission.PRODUCT_WRITE, Permission.WALLBOARD_VIEW,
                               Permission.SLA_MANAGE}),
    Role.ADMIN: frozenset(Permission),
}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
