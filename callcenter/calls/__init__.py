"""The call log: every call the PBX carried, its pops, wrap-up and figures."""
