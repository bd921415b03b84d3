"""One SQLite file per site: samples with rollups, events, runs and evidence, the audit log."""
from console.store.store import (
    MAX_ABS_VALUE,
    AuditEntry,
    Event,
    Latest,
    RangePoint,
    Run,
    SeriesInfo,
    Step,
    Store,
    StoreError,
    StoreVersionError,
    WriterStopped,
)

__all__ = ["MAX_ABS_VALUE",
           "AuditEntry", "Event", "Latest", "RangePoint", "Run", "SeriesInfo", "Step", "Store", "StoreError",
           "StoreVersionError", "WriterStopped"]
