"""Asterisk Manager Interface: an incremental frame reader and an asyncio client."""

from .actions import (
    AMIActionError,
    AMIAuthError,
    AMIConnectionLost,
    AMIError,
    AMINotConnected,
    AMITimeout,
    AMIValueError,
    clean_value,
    encode_action,
    format_caller_id,
)
from .client import AMIClient, ClientStats
from .commands import ListResult
from .frames import Frame, FrameCounters, FrameReader, getlist

__all__ = [
    "AMIActionError", "AMIAuthError", "AMIClient", "AMIConnectionLost", "AMIError",
    "AMINotConnected", "AMITimeout", "AMIValueError", "ClientStats", "Frame", "FrameCounters",
    "FrameReader", "ListResult", "clean_value", "encode_action", "format_caller_id", "getlist",
]
