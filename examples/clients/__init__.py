"""Mail clients run as commands by fault experiments (see the README)."""
