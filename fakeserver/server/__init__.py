"""The running fake, as Python code uses it: ``FakeGmail``, its options, its outbox and the
record of every connection."""
