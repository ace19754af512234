"""Personas: what a fake server says and the rules it keeps, as data (``*.toml`` here), and the
code that loads and renders them."""
