"""Where the call center is: its phone region and time zone, as one small frozen value.

Settings are read once at start (``callcenter.config``); the edges hand domain code a
``Locality`` (or its parts), so no domain function reads ``os.environ`` or
``current_app``. The defaults are written here once and used by the settings loader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

#: ISO 3166 region in which phone numbers without a country code are read.
DEFAULT_REGION = "CN"
#: IANA time zone of the call center: dates (warranty ends, "today") are local dates.
DEFAULT_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class Locality:
    region: str = DEFAULT_REGION
    timezone: str = DEFAULT_TIMEZONE

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self) -> date:
        """Today's date in the call center's time zone."""
        return datetime.now(self.zone).date()
