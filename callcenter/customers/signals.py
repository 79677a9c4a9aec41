"""The signals the customers domain sends (conventions: ``callcenter.core.signals``)."""

from __future__ import annotations

from callcenter.core.signals import signal

#: Event, inside the unit of work: other domains move their rows to the survivor.
customers_merged = signal("customers.merged", """\
A customer record is being folded into another (customers.merge.merge_customers):
the customers domain has moved its own rows (contacts, phones, addresses, products,
...), and now every other domain moves the rows it keeps for the merged record.
Sent inside the merge's savepoint, before the merge is recorded.
Sender: the survivor's id (int).
Keywords: merged_id (int), session (write with it; never commit).
Each receiver returns how many rows of each kind it moved, {"tickets": 3} (shown in
the merge's audit trail). A receiver that raises, or returns anything but
{str: int}, undoes the whole merge.""")
