"""REST routes for customers, contacts and installed products (filled in below)."""
