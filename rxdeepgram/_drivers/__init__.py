"""I/O: transports move WebSocket messages, one driver connects them to connections.

Every protocol rule lives in :mod:`rxdeepgram._session`. A transport (``_transport.py``: the
interface; the packages ``_websockets`` and ``_picows``) opens the socket and runs the WebSocket
protocol; the driver (``_asyncio.py``) hands incoming messages to the connection, sends what the
connection queues, and runs the keepalive and close timers. Both clients use the same driver:
the async client on its own loop, the sync client on the one I/O loop of :mod:`rxdeepgram._ioloop`.
"""
