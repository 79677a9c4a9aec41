"""The audit log: who looked at or changed what *outside their normal access scope*, and
why they were allowed to.

Scopes (``callcenter.users.scopes``) keep records outside a user's scope invisible. A few
rules open a door through them for a reason that does not last: the agent rung for a
call may see that caller's customer while the call is theirs
(``callcenter.calls.access``). Every use of such a door is one row here: the user, the
action, the record and the reason (the call), written in the same unit of work as the
access itself. Administrators read it on the "Audit log" page (/admin/audit).
"""
