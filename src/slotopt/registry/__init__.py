"""The batch system's registry: state that outlives a run, in one SQLite file.

Registrations with their receipts (a hash chain), commitments, draws with their exact inputs and
revealed secrets, allocations and events. The run layer writes it through the
:class:`~slotopt.batch.Recorder` methods of :class:`Registry`; auditors and applicants read it
(:mod:`slotopt.verify.audit`, :mod:`slotopt.registry.proof`). docs/audit.md documents the schema.
"""

from slotopt.registry.chain import GENESIS, Receipt, receipt_hash, request_digest
from slotopt.registry.schema import SCHEMA_VERSION
from slotopt.registry.store import ChainHead, Registry, RegistryError, SchemaError

__all__ = [
    "GENESIS",
    "SCHEMA_VERSION",
    "ChainHead",
    "Receipt",
    "Registry",
    "RegistryError",
    "SchemaError",
    "receipt_hash",
    "request_digest",
]
