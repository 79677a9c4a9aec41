"""The kernel: what every domain needs, in one place, depending on no domain.

- ``errors``: ``AppError`` with a stable ``code`` and ``params`` (never an English
  sentence); not found, permission denied, conflict, and validation (field -> problem).
  The edges (API, pages, CLI) translate codes with ``callcenter.core.messages``.
- ``fields``: checks of one untrusted value (text, date, choice, id) and the id limit.
- ``pagination``: one page of a SELECT and the count of all of it.
- ``signals``, ``domains``: the blinker signals convention and the one start-up of
  every domain (web app, worker and bridge alike).
- ``locality``: the call center's phone region and time zone, passed to domain code
  as a small frozen value (domain code never reads ``os.environ`` or ``current_app``).
- ``display``: how phone numbers, dates and times are shown (one style per kind and
  language; the Jinja filters, and the patterns ``static/js/display.js`` applies).

Domains import the kernel; the kernel imports no domain and no Flask (``messages``
uses Flask-Babel's gettext, which works in and out of a request).
"""
