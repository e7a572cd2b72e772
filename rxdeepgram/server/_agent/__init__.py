"""The parts of one ``/v1/agent/converse`` connection (:mod:`..agent_v1` documents the
behaviour), one concern each, lowest first:

* :mod:`._base`: the constants, the handler's knobs as seen here (``AgentOptions``), the fatal
  errors and the socket as the parts use it (``Link``: send, warn, fail; the session is it).
* :mod:`._state`: what the conversation knows (history, prompt, functions, providers) and how
  ``Settings`` and the ``Update*`` messages change it.
* :mod:`._speech`: saying a line (``ConversationText`` -> audio -> ``AgentAudioDone``), barge-in.
* :mod:`._calls`: function calls and waiting for their ``FunctionCallResponse``.
* :mod:`._conversation`: the turn queue and its worker (think, calls, reply), injections.
* :mod:`._listening`: microphone audio -> speech segments -> transcript -> a user statement.
* :mod:`._session`: the connection, on the stream skeleton (:mod:`.._stream`): ``Welcome``,
  ``Settings``, dispatch.
"""
