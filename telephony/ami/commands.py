"""The actions the product sends, as typed helpers over ``send_action``.

Values from outside (caller IDs, member names, pause reasons typed in the UI) go through
``clean_value``; everything else is checked by ``encode_action`` (no CR/LF/NUL).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .actions import Headers, clean_value, variable_headers
from .frames import Frame


@dataclass
class ListResult:
    """A list action's reply: the first response, its events, the closing ``...Complete``."""

    response: Frame
    events: list[Frame] = field(default_factory=list)
    complete: Frame | None = None


class ProductActions:
    """Mixed into :class:`~telephony.ami.client.AMIClient`."""

    async def send_action(self, action: str, headers: Headers = (), *,
                          timeout: float | None = None, check: bool = True) -> Frame:
        raise NotImplementedError

    async def send_list_action(self, action: str, headers: Headers = (), *,
                               timeout: float | None = None) -> ListResult:
        raise NotImplementedError

    async def ping(self) -> Frame:
        return await self.send_action("Ping")

    async def originate(self, channel: str, *, exten: str | None = None,
                        context: str | None = None, priority: int | str | None = None,
                        application: str | None = None, data: str | None = None,
                        caller_id: str | None = None,
                        variables: Mapping[str, object] | None = None,
                        run_async: bool = True, timeout_ms: int = 30000) -> Frame:
        """Click-to-dial: ring ``channel`` (the agent), then ``exten@context`` (the customer).

        ``caller_id`` is outside input (build it with ``format_caller_id``): control
        characters are replaced. With ``run_async`` the outcome arrives later as an
        ``OriginateResponse`` event carrying this action's ActionID.
        """
        if (exten is None) == (application is None):
            raise ValueError("originate needs exactly one of exten or application")
        if exten is not None and (context is None or priority is None):
            raise ValueError("originate with exten needs context and priority")
        headers: list[tuple[str, object]] = [
            ("Channel", channel), ("Exten", exten), ("Context", context),
            ("Priority", priority), ("Application", application), ("Data", data),
            ("Timeout", timeout_ms),
            ("CallerID", clean_value(caller_id) if caller_id is not None else None),
            ("Async", run_async),
        ]
        headers.extend(variable_headers(variables))
        return await self.send_action("Originate", headers)  # type: ignore[arg-type]

    async def queue_add(self, queue: str, interface: str, *, member_name: str | None = None,
                        paused: bool = False, reason: str | None = None,
                        penalty: int | None = None,
                        state_interface: str | None = None) -> Frame:
        return await self.send_action("QueueAdd", [
            ("Queue", queue), ("Interface", interface),
            ("MemberName", clean_value(member_name) if member_name else None),
            ("Penalty", penalty), ("StateInterface", state_interface),
            ("Paused", True if paused else None),
            ("Reason", clean_value(reason) if paused and reason else None),
        ])

    async def queue_remove(self, queue: str, interface: str) -> Frame:
        return await self.send_action("QueueRemove", [("Queue", queue), ("Interface", interface)])

    async def queue_pause(self, queue: str | None, interface: str, paused: bool,
                          reason: str | None = None) -> Frame:
        """Pause or unpause a member in ``queue``, or in every queue when ``queue`` is None."""
        return await self.send_action("QueuePause", [
            ("Interface", interface), ("Paused", paused), ("Queue", queue),
            ("Reason", clean_value(reason) if reason else None),
        ])

    async def redirect(self, channel: str, exten: str, context: str,
                       priority: int | str = 1) -> Frame:
        """Blind transfer: send ``channel`` to ``exten@context``."""
        return await self.send_action("Redirect", [
            ("Channel", channel), ("Exten", exten), ("Context", context),
            ("Priority", priority)])

    async def queue_status(self, queue: str | None = None,
                           member: str | None = None) -> ListResult:
        """QueueParams / QueueMember / QueueEntry events (members use Name and Location)."""
        return await self.send_list_action("QueueStatus", [("Queue", queue), ("Member", member)])

    async def core_show_channels(self) -> ListResult:
        return await self.send_list_action("CoreShowChannels")
