"""kb domain (later issues)."""
