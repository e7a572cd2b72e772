"""The parts of one ``/v1/agent/converse`` connection (:mod:`..agent_v1` documents the
behaviour), one concern each, lowest first:

* :mod:`._base`: the constants, the handler's knobs as seen here (:class:`AgentOptions`) and the
  socket (:class:`Link`: send, warn, fail).
* :mod:`._state`: what the conversation knows (history, prompt, functions, providers) and how
  ``Settings`` and the ``Update*`` messages change it.
* :mod:`._speech`: saying a line (``ConversationText`` -> audio -> ``AgentAudioDone``), barge-in.
* :mod:`._calls`: function calls and waiting for their ``FunctionCallResponse``.
* :mod:`._conversation`: the turn queue and its worker (think, calls, reply), injections.
* :mod:`._listening`: microphone audio -> speech segments -> transcript -> a user statement.
* :mod:`._session`: the connection: ``Welcome``, ``Settings``, the receive loop, dispatch.
"""
