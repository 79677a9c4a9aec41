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
    #: Add, rename and switch off ticket types (tickets.types).
    TICKET_TYPE_MANAGE = "ticket_type.manage"
    #: Tickets (tickets/): read those in scope; create, edit, comment, move along the
    #: states; assign to someone else (taking one oneself needs only write); merge two.
    TICKET_READ = "ticket.read"
    TICKET_WRITE = "ticket.write"
    TICKET_ASSIGN = "ticket.assign"
    TICKET_MERGE = "ticket.merge"
    #: Repair orders (repairs/): read those in scope; raise one from a ticket and work it
    #: (diagnose, record findings and parts, move it along); dispatch to a technician;
    #: inspect; settle; override the warranty decision (with a reason).
    REPAIR_READ = "repair.read"
    REPAIR_WRITE = "repair.write"
    REPAIR_DISPATCH = "repair.dispatch"
    REPAIR_INSPECT = "repair.inspect"
    REPAIR_SETTLE = "repair.settle"
    WARRANTY_OVERRIDE = "warranty.override"
    #: Service stations' master data and the parts catalogue (after-sales finance).
    STATION_MANAGE = "station.manage"
    PART_MANAGE = "part.manage"
    #: Stations' stock: read it; receive, transfer and adjust it (issues to a repair order
    #: and returns from one need REPAIR_WRITE on the order).
    STOCK_READ = "stock.read"
    STOCK_MOVE = "stock.move"
    #: The knowledge base and defect library (kb/): read published entries and search;
    #: write, publish and archive entries, keep the synonyms, categories and defect codes
    #: (editors: supervisors and admins).
    KB_READ = "kb.read"
    KB_EDIT = "kb.edit"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Agents create the caller they have on the line and correct their data.
    Role.AGENT: frozenset({Permission.CUSTOMER_READ, Permission.CUSTOMER_CREATE,
                          Permission.CUSTOMER_UPDATE, Permission.PRODUCT_WRITE,
                          Permission.TICKET_READ, Permission.TICKET_WRITE,
                          Permission.TICKET_ASSIGN, Permission.REPAIR_READ,
                          Permission.REPAIR_WRITE, Permission.KB_READ}),
    # Technicians read the customer and record which equipment they found at whose site.
    # They work the tickets assigned to them (and may take one), but do not hand out work.
    # They work their repair orders and draw parts from their station's stock for them.
    Role.TECHNICIAN: frozenset({Permission.CUSTOMER_READ, Permission.PRODUCT_WRITE,
                               Permission.TICKET_READ, Permission.TICKET_WRITE,
                               Permission.REPAIR_READ, Permission.REPAIR_WRITE,
                               Permission.STOCK_READ, Permission.KB_READ}),
    Role.SUPERVISOR: frozenset({Permission.CUSTOMER_READ, Permission.CUSTOMER_CREATE,
                               Permission.CUSTOMER_UPDATE, Permission.CUSTOMER_MERGE,
                               Permission.CUSTOMER_IMPORT, Permission.CUSTOMER_REASSIGN,
                               Permission.PRODUCT_WRITE, Permission.WALLBOARD_VIEW,
                               Permission.SLA_MANAGE, Permission.TICKET_TYPE_MANAGE,
                               Permission.TICKET_READ, Permission.TICKET_WRITE,
                               Permission.TICKET_ASSIGN, Permission.TICKET_MERGE,
                               Permission.REPAIR_READ, Permission.REPAIR_WRITE,
                               Permission.REPAIR_DISPATCH, Permission.REPAIR_INSPECT,
                               Permission.REPAIR_SETTLE, Permission.WARRANTY_OVERRIDE,
                               Permission.STOCK_READ, Permission.STOCK_MOVE,
                               Permission.KB_READ, Permission.KB_EDIT}),
    # After-sales finance keeps the stations' master data (each station is a customer
    # record: the dealer after-sales settles with) and the parts catalogue with its
    # prices, reads stock and repair orders, and settles them. It does not work orders,
    # dispatch, inspect or move stock.
    Role.FINANCE: frozenset({Permission.CUSTOMER_READ, Permission.CUSTOMER_CREATE,
                            Permission.CUSTOMER_UPDATE, Permission.TICKET_READ,
                            Permission.REPAIR_READ, Permission.REPAIR_SETTLE,
                            Permission.STATION_MANAGE, Permission.PART_MANAGE,
                            Permission.STOCK_READ, Permission.KB_READ}),
    Role.ADMIN: frozenset(Permission),
}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
