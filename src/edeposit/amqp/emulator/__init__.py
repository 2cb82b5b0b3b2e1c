"""A fake Aleph X-Server for tests, demos and benchmarks.

It speaks X-Services (``find``, ``present``, ``ill_get_set``, ``ill_get_doc``,
``find_doc``) byte for byte as the NKP catalogue does, over a corpus of MARC records
indexed once on disk, serves the e-deposit export form, and injects faults on demand.
Start it in-process with :class:`AlephEmulator`, or as ``aleph-emulator`` /
``python -m edeposit.amqp.emulator``.

It stands apart: of the project it imports only the root of the error tree.
"""

from edeposit.amqp.emulator.emulator import AlephEmulator
from edeposit.amqp.emulator.faults import Faults

__all__ = ["AlephEmulator", "Faults"]
