"""What a test asks of the fake: scripted replies (``script``), faults (``faults``) and scenario
files (``scenario``)."""
