"""How fast due times in business time are: 100,000 ``WorkingCalendar.add`` calls, and
100,000 full ``sla_snapshot`` computations (with pending pauses in the history), against
a naive minute-by-minute baseline in the same process. Prints one JSON object.

No database: tickets and history rows are built in memory (as the escalation job holds
them after loading a batch). The naive baseline steps one minute at a time through the
same working days; it runs on a sample (``--naive``) and is extrapolated to the full
count, and every sampled answer must equal the fast one (``mismatches`` must be 0; the
exit status is 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time as clock
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from callcenter import models as _models  # noqa: F401 - every table, for the ORM classes
from callcenter.config import DEFAULT_SERVICE_HOURS
from tickets.calendar import WorkingCalendar
from tickets.models import SlaCalendar, Ticket, TicketHistory, TicketStatus
from tickets.sla import sla_snapshot

ZONE = ZoneInfo("Asia/Shanghai")
MINUTES = (10, 30, 60, 240, 480, 1440, 2400)


def naive_add(cal: WorkingCalendar, start: datetime, minutes: int) -> datetime:
    """The obvious definition: walk minute by minute, counting the working ones."""
    step = timedelta(minutes=1)
    # Align to the next whole minute so each step is a whole working minute or none.
    t = start.astimezone(ZONE).replace(second=0, microsecond=0)
    if t < start:
        t += step
    counted = 0
    while True:
        local = t.astimezone(ZONE)
        if cal.is_workday(local.date()) and any(
                s <= local.time() < e for s, e in DEFAULT_SERVICE_HOURS):
            counted += 1
            if counted == minutes:
                return t + step
        t += step


def cases(n: int, seed: int) -> list[tuple[datetime, int]]:
    rng = random.Random(seed)
    base = datetime(2026, 1, 1, tzinfo=ZONE)
    # Whole minutes, so the naive walk and the fast answer are comparable exactly.
    return [(base + timedelta(minutes=rng.randrange(0, 365 * 24 * 60)), rng.choice(MINUTES))
            for _ in range(n)]


def tickets(pairs: list[tuple[datetime, int]], seed: int):
    """A ticket per pair; one in three went pending for a while (and came back)."""
    rng = random.Random(seed)
    out = []
    for start, minutes in pairs:
        t = Ticket(type_code="complaint", status=TicketStatus.IN_PROGRESS, created_at=start,
                   updated_at=start, sla_calendar=SlaCalendar.BUSINESS,
                   first_response_minutes=min(minutes, 30), resolution_minutes=minutes)
        rows = []
        if rng.random() < 1 / 3:
            paused = start + timedelta(minutes=rng.randrange(5, 600))
            back = paused + timedelta(minutes=rng.randrange(5, 3000))
            rows = [TicketHistory(field="status", old_value="in_progress", new_value="pending",
                                  changed_at=paused, id=1),
                    TicketHistory(field="status", old_value="pending", new_value="in_progress",
                                  changed_at=back, id=2)]
        out.append((t, rows))
    return out


def timed(fn) -> float:
    started = clock.perf_counter()
    fn()
    return clock.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--naive", type=int, default=200,
                        help="due times computed the naive way (a sample; extrapolated)")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    pairs = cases(args.tickets, args.seed)
    cold = WorkingCalendar("Asia/Shanghai", DEFAULT_SERVICE_HOURS)
    cold_s = timed(lambda: [cold.add(s, m) for s, m in pairs])
    warm_s = timed(lambda: [cold.add(s, m) for s, m in pairs])

    built = tickets(pairs, args.seed)
    now = datetime(2027, 1, 1, tzinfo=ZONE)
    cal = WorkingCalendar("Asia/Shanghai", DEFAULT_SERVICE_HOURS)
    snapshot_s = timed(lambda: [sla_snapshot(t, rows, cal, now=now) for t, rows in built])

    sample = pairs[:args.naive]
    naive_cal = WorkingCalendar("Asia/Shanghai", DEFAULT_SERVICE_HOURS)
    naive_answers: list[datetime] = []
    naive_s = timed(lambda: naive_answers.extend(naive_add(naive_cal, s, m)
                                                 for s, m in sample))
    mismatches = sum(naive != cold.add(s, m)
                     for naive, (s, m) in zip(naive_answers, sample, strict=True))
    naive_full_s = naive_s * args.tickets / max(1, len(sample))

    result = {
        "tickets": args.tickets,
        "targets_minutes": list(MINUTES),
        "add_cold_s": round(cold_s, 3),
        "add_warm_s": round(warm_s, 3),
        "add_us_each_warm": round(warm_s / args.tickets * 1e6, 2),
        "sla_snapshot_s": round(snapshot_s, 3),
        "sla_snapshot_us_each": round(snapshot_s / args.tickets * 1e6, 2),
        "naive_sample": len(sample),
        "naive_sample_s": round(naive_s, 3),
        "naive_extrapolated_s": round(naive_full_s, 1),
        "speedup_vs_naive": round(naive_full_s / warm_s, 1) if warm_s else None,
        "mismatches": mismatches,
    }
    print(json.dumps(result, indent=2))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
