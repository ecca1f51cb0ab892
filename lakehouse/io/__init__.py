"""Storage: the Delta Lake IO manager and lake URIs."""

from lakehouse.io.delta_io_manager import DeltaSparkIOManager, DeltaWriteError

__all__ = ["DeltaSparkIOManager", "DeltaWriteError"]
