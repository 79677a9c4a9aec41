"""The agent desk: the page an agent keeps open all day (status control and screen pops),
and after-call work (``acw``)."""


def init_app() -> None:
    """Connect the desk's receivers (once per process: ``core.domains.init_domains``):
    a saved wrap-up ends the agent's after-call work."""
    from callcenter.calls.signals import call_wrapped_up
    from callcenter.desk.acw import wrapup_saved

    call_wrapped_up.connect(wrapup_saved)
