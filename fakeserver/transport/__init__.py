"""The transport: sockets, TLS, the event-loop thread, and aiosmtpd behind one adapter module.

Internal: it moves bytes between clients and each connection's session
(``fakeserver.session``) and decides nothing about what is said.
"""
