"""tickets domain (later issues)."""
