"""The ``rxdeepgram`` command line (see :mod:`rxdeepgram.__main__`): one module per command."""
