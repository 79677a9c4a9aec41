"""The wallboard's alert thresholds as the API takes and gives them
(``/api/v1/wallboard/thresholds``). The ranges are ``thresholds.RANGES``' (the service
checks them, so an out-of-range value is a 422 saying the range in the reader's
language); here they are only described."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field, Strict

from callcenter.core.schema import MAX_ID, Schema
from callcenter.wallboard.thresholds import RANGES


def _whole(name: str, description: str) -> object:
    low, high = RANGES[name]
    return Annotated[int, Field(description=f"{description} Whole number, {low} to {high}.",
                                json_schema_extra={"minimum": low, "maximum": high})]


ServiceLevelPercent = _whole("service_level_percent",
                             "Today's service level below this percentage is flagged.")
LongestWait = _whole("longest_wait_s", "A caller waiting longer than this many seconds is "
                                       "flagged.")
AbandonRatePercent = _whole("abandon_rate_percent",
                            "Today's abandon rate above this percentage is flagged.")
#: 0 while a queue alerts at the defaults (it has no thresholds of its own).
Version = Annotated[int, Strict(), Field(ge=0, le=MAX_ID)]


class WallboardThresholdsUpdate(Schema):
    read_only = frozenset({"queue", "display_name", "sl_threshold_s", "custom", "updated_at"})

    service_level_percent: ServiceLevelPercent  # type: ignore[valid-type]
    longest_wait_s: LongestWait  # type: ignore[valid-type]
    abandon_rate_percent: AbandonRatePercent  # type: ignore[valid-type]
    version: Annotated[Version | None, Field(
        description="The `version` you read (0: the defaults). Another supervisor saved "
                    "meanwhile: 409 `wallboard.thresholds_stale` carrying "
                    "`current_version`, nothing changed. Left out: the last save wins.")
    ] = None


class WallboardThresholds(Schema):
    queue: Annotated[str, Field(description="The Asterisk queue name.")]
    display_name: str
    sl_threshold_s: Annotated[int, Field(description="The queue's service-level time: "
                                                     "answered within it counts.")]
    service_level_percent: ServiceLevelPercent  # type: ignore[valid-type]
    longest_wait_s: LongestWait  # type: ignore[valid-type]
    abandon_rate_percent: AbandonRatePercent  # type: ignore[valid-type]
    custom: Annotated[bool, Field(description="False: the defaults (80 %, the queue's "
                                              "service-level time, 5 %).")]
    updated_at: datetime | None
    version: Annotated[Version, Field(description="Bumped by every save; send it back "
                                                  "with the next one.")]


class WallboardThresholdsList(Schema):
    items: list[WallboardThresholds]
