"""I/O drivers: they move frames between a socket and a connection, and nothing else.

Every protocol rule lives in :mod:`rxdeepgram._session`; a driver opens the socket, runs a reader
(frames -> ``conn._on_frame``), a writer (queued frames -> socket, in order) and the keepalive
timer, and reports how the socket closed. :mod:`._asyncio` does it with tasks on the running
loop, :mod:`._threaded` with one reader and one writer thread per connection.
"""
