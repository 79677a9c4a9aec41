"""Signals: how a domain tells the others that something happened, or asks them a question.

A domain never imports another domain's internals to notify it, and never keeps a list
of callbacks of its own. It sends a blinker signal (Flask ships blinker), and whoever
cares connects a receiver. Conventions:

- **Declared by the sender.** Each domain declares the signals it sends in its own
  ``signals.py`` with ``signal(name, doc)``; the name is ``"<domain>.<what happened>"``
  (``"calls.wrapped-up"``), the doc says what the signal means, when it is sent (before
  or after the commit), what the sender is and which keyword arguments it carries.
- **Connected in ``init_app``.** Receivers are connected in the receiving domain's
  ``init_app()``, which ``callcenter.core.domains.init_domains`` calls once per process
  (web app, worker and bridge alike), never at import time: importing a module changes
  nothing, and a test connects its own receiver with ``sig.connected_to(fn)``.
- **Sender and data.** The sender (first positional argument) is the id of what the
  event is about (a call id, a customer id); everything else is a keyword argument.
  Receivers listen to every sender (blinker tells senders apart by object identity,
  which ids do not have) and take the keyword arguments they need plus ``**_`` so that
  a new argument breaks nobody. Receivers are module-level functions (blinker keeps
  weak references; a closure would vanish).
- **After the commit.** A signal about written rows that starts a side effect (a socket
  emit, a job) is sent from ``callcenter.db.after_commit``, so no receiver acts on rows
  that may still roll back. A signal whose receivers must write in the same unit of work
  (a merge moving other domains' rows) is sent inside it, and says so.
- **Questions.** When other domains contribute an answer (the open tickets on a caller's
  card), the asker sends a signal whose receivers *return* values and gathers them with
  ``collect``; with no receiver connected the answer is simply empty.
"""

from __future__ import annotations

import weakref
from typing import Any

from blinker import NamedSignal, Namespace

#: Every signal of the product, by name: one namespace, so two domains cannot pick the
#: same name by accident, and the whole list can be checked (each has a doc).
_namespace = Namespace()


def signal(name: str, doc: str) -> NamedSignal:
    """Declare the signal ``name`` (``"<domain>.<what happened>"``) with its doc.

    A name is declared once: a second declaration is a mistake (ValueError).
    """
    if name in _namespace:
        raise ValueError(f"the signal {name!r} is declared already")
    if not doc or not doc.strip():
        raise ValueError(f"the signal {name!r} needs a doc: what it means and carries")
    return _namespace.signal(name, doc)


def all_signals() -> dict[str, NamedSignal]:
    """The signals declared so far (by the ``signals`` modules imported), by name."""
    return dict(_namespace)


def collect(sig: NamedSignal, sender: Any = None, **kwargs: Any) -> list[Any]:
    """Ask a question: send ``sig`` and return the receivers' answers, in the order the
    receivers were connected, leaving out ``None`` (a receiver with nothing to say).

    blinker calls its receivers in set order, not connection order, so the answers are
    put back in connection order here: an asker that cuts a list (at most N open tickets
    on a card) must cut the same answers every time.

    An exception in a receiver is not caught: the asker decides what a failure means.
    """
    order = {id(_receiver_of(ref)): n for n, ref in enumerate(sig.receivers.values())}
    answers = sig.send(sender, **kwargs)
    answers.sort(key=lambda pair: order.get(id(pair[0]), len(order)))
    return [value for _receiver, value in answers if value is not None]


def _receiver_of(ref: Any) -> Any:
    """The callable behind an entry of ``Signal.receivers`` (a weak reference or itself)."""
    return ref() if isinstance(ref, weakref.ref) else ref
