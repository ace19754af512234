"""Fuzz targets for smtprig, run by ``make fuzz`` (``python -m fuzz``).

Each module holds targets (``fuzz.engine.Target``) and a ``main()`` that runs them:

- :mod:`fuzz.replies`: the client's reply parser, and every persona reply;
- :mod:`fuzz.commands`: the server's dialogue rules, the SASL decoders, the AUTH redactor;
- :mod:`fuzz.session`: live sessions against a running FakeGmail, one thing at a time or
  everything in one write.

Runs are deterministic (a fixed seed, a fixed number of inputs, no example database); the same
targets run a few inputs each in the default test run (``tests/reliability/test_fuzz.py``).
"""
