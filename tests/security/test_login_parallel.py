"""Issue 9, defect 1: 40 parallel wrong passwords at one account were all checked (the
lockout was read before, and counted after, each slow password check). Now every guess
is counted before its check, atomically (Redis for one address, one UPDATE ... RETURNING
in the database for an account), so at most 5 are checked however many arrive at once.

Real parallel requests against a served app (a threaded server, a fresh database of each
backend, real Redis)."""

from __future__ import annotations

from collections import Counter

import pytest
from security_support import PASSWORD, in_parallel, login_form, outcome, post_login, start_served
from sqlalchemy import select

from callcenter.db import make_engine
from callcenter.users.models import User

GUESSES = 40
LIMIT = 5


@pytest.fixture
def serve(backend, fresh_database, tmp_path, redis_conn, redis_url):
    """serve(**env) -> a served app on a fresh database of this backend."""
    stops = []

    def start(**env):
        served, stop = start_served(fresh_database.create(backend), redis_url,
                                    tmp_path / "instance", **env)
        stops.append(stop)
        return served

    yield start
    for stop in stops:
        stop()


def guesses(served, addresses: list[str], username: str = "root") -> Counter:
    """One wrong password per address (a browser each), all released at once."""
    clients = [served.client(a) for a in addresses]
    tokens = [login_form(served, c) for c in clients]
    results = in_parallel(lambda i: post_login(served, clients[i], tokens[i], username,
                                               f"wrong guess {i}"), len(clients))
    return Counter(outcome(r) for r in results)


def failed_logins(served, username: str = "root") -> int:
    engine = make_engine(served.settings.database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(User.failed_logins).where(User.username == username))
    finally:
        engine.dispose()


def test_parallel_guesses_from_one_address_check_at_most_five(serve):
    served = serve()
    assert guesses(served, ["127.0.0.1"] * GUESSES) == {"wrong": LIMIT,
                                                        "throttled": GUESSES - LIMIT}
    assert failed_logins(served) == LIMIT
    # The right password is throttled too now, from this address ...
    client = served.client("127.0.0.1")
    r = post_login(served, client, login_form(served, client), "root", PASSWORD)
    assert outcome(r) == "throttled" and int(r.headers["Retry-After"]) > 0
    # ... but not from another one: the stranger did not lock the account.
    other = served.client("127.0.0.2")
    r = post_login(served, other, login_form(served, other), "root", PASSWORD)
    assert r.status_code == 302, r.text
    assert failed_logins(served) == 0


def test_parallel_guesses_from_many_addresses_meet_the_database_count(serve):
    """With the per-address limits out of the way, the account's own count (one UPDATE
    ... RETURNING per guess, before its check) lets exactly LOGIN_MAX_FAILURES through."""
    served = serve(LOGIN_RATE_LIMIT="1000 per minute", LOGIN_ADDRESS_RATE_LIMIT="1000 per minute",
                   LOGIN_MAX_FAILURES=str(LIMIT), LOGIN_BACKOFF_S="60")
    addresses = [f"127.0.{i // 200}.{i % 200 + 10}" for i in range(GUESSES)]
    assert guesses(served, addresses) == {"wrong": LIMIT, "throttled": GUESSES - LIMIT}
    assert failed_logins(served) == LIMIT
    # The account waits now (a minute, doubling with each further failure), from
    # anywhere, with the same answer an unknown name gets once it had as many guesses.
    client = served.client("127.0.9.9")
    r = post_login(served, client, login_form(served, client), "root", PASSWORD)
    assert outcome(r) == "throttled"
    assert 0 < int(r.headers["Retry-After"]) <= 60
    assert guesses(served, addresses[:GUESSES], "nobody-here") == {
        "wrong": LIMIT, "throttled": GUESSES - LIMIT}
