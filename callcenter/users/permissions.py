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
    #: Tickets (tickets/): read those in scope; create, edit, comment, move along the
    #: states; assign to someone else (taking one oneself needs only write); merge two.
    TICKET_READ = "ticket.read"
    TICKET_WRITE = "ticket.write"
    TICKET_ASSIGN = "ticket.assign"
    TICKET_MERGE = "ticket.merge"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Agents create the caller they have on the line and correct their data.
    Role.AGENT: frozenset({Permission.CUSTOMER_READ, Permission.CUSTOMER_CREATE,
                          Permission.CUSTOMER_UPDATE, Permission.PRODUCT_WRITE,
                          Permission.TICKET_READ, Permission.TICKET_WRITE,
                          Permission.TICKET_ASSIGN}),
    # Technicians read the customer and record which equipment they found at whose site.
    # They work the tickets assigned to them (and may take one), but do not hand out work.
    Role.TECHNICIAN: frozenset({Permission.CUSTOMER_READ, Permission.PRODUCT_WRITE,
                               Permission.TICKET_READ, Permission.TICKET_WRITE}),
    Role.SUPERVISOR: frozenset({Permission.CUSTOMER_READ, Permission.CUSTOMER_CREATE,
                               Permission.CUSTOMER_UPDATE, Permission.CUSTOMER_MERGE,
                               Permission.CUSTOMER_IMPORT, Permission.CUSTOMER_REASSIGN,
                               Permission.PRODUCT_WRITE, Permission.WALLBOARD_VIEW,
                               Permission.TICKET_READ, Permission.TICKET_WRITE,
                               Permission.TICKET_ASSIGN, Permission.TICKET_MERGE}),
    Role.ADMIN: frozenset(Permission),
}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
