"""The agent desk: the page an agent keeps open all day (status control and screen pops),
and after-call work (``acw``)."""


def init_app() -> None:
    """Connect the desk's receivers and register its live event (once per process:
    ``core.domains.init_domains``): a saved wrap-up ends the agent's after-call work;
    the bridge tells each agent's own desk their state (``own_state.OWN_STATE_EVENT``)."""
    from callcenter.calls.signals import call_wrapped_up
    from callcenter.desk.acw import wrapup_saved
    from callcenter.desk.own_state import OWN_STATE_EVENT
    from callcenter.realtime.publish import Audience, register_event

    call_wrapped_up.connect(wrapup_saved)
    # To agent:<user_id> only: an agent's state is theirs (and their supervisors', who
    # get it as agent.update in the queue rooms).
    register_event(OWN_STATE_EVENT, Audience.USER)
