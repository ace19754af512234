"""The server session, without sockets: one object per connection decides everything the fake
says, from the persona's rules, the test's script and faults, and the connection's bookkeeping.

Internal: the transport (``fakeserver.transport``) feeds it events and carries out its actions.
"""
