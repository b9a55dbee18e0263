"""Acks and commits, in one place: what may be committed, and when.

* :mod:`.order`: :class:`AckOrder`, the commentary agent's acks released only as a
  prefix of each partition's delivery order;
* :mod:`.ledger`: :class:`PartitionLedger`, the batch agent's last folded offset per
  partition and the refill of a skipped range;
* :mod:`.handoff`: :class:`HandoffGuard`, the same refill for the commentary agent's
  hand-off partitions, per assignment, from the consumer's committed offset;
* :mod:`.window`: :class:`HandoffWindow`, the batch agent's pipelined hand-off: records
  committed (state written, acked) only as a prefix whose sends are acknowledged;
* :mod:`.offsets`: :class:`DedupedAckConsumer`, the faust-streaming 0.15.3 commit
  workaround (repeated acks, the ledger's refilled ranges, the commit on revoke, the
  guard's refilled ranges kept out of faust's gap list);
* :mod:`.revoke`: the steps of a revoke, each bounded, all bounds from half the session
  timeout.
"""
