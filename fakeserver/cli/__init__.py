"""The ``fakeserver`` command line: ``serve``, ``certs``, ``record``, ``replay``, ``experiment``."""
