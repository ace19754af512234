"""The running fake, as Python code uses it: ``FakeGmail``, its options, its outbox and the
record of every connection.

Modules: ``fake`` (``FakeGmail``), ``options`` (``ServerOptions``), ``state`` (what the
server's connections share, and the observers that watch them), ``outbox``, ``sessions``
(assertions on what clients did), ``transcript_files`` (``--record``).
"""
