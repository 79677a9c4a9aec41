"""The agent desk: the page an agent keeps open all day (status control and screen pops)."""
