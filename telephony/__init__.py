"""telephony domain (later issues)."""
