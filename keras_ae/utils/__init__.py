"""Small shared helpers (argument and input validation)."""
