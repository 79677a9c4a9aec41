"""The call log: every call the PBX carried, its pops, wrap-up and figures."""


def init_app() -> None:
    """Connect the calls domain's receivers and register its live events (called once
    per process by ``callcenter.core.domains.init_domains``)."""
    from callcenter.calls.recording import move_calls_to_survivor
    from callcenter.customers.signals import customers_merged
    from callcenter.realtime.publish import Audience, register_event

    customers_merged.connect(move_calls_to_survivor)
    # The screen pop (telephony/README.md, "Socket.IO"): to the agent's own room, each
    # the call's latest state in their live calls, but a dismissed call leaves them.
    for name in ("call.ringing", "call.answered", "call.ended"):
        register_event(name, Audience.USER, live_calls="keep")
    register_event("call.dismissed", Audience.USER, live_calls="drop")
