"""Spark DataFrames in and out of the lake's Delta tables: the Delta IO manager and the writes it makes."""

from lakehouse.io.delta_io_manager import DeltaSparkIOManager, DeltaWriteError, WrittenFrame, write_frame

__all__ = ["DeltaSparkIOManager", "DeltaWriteError", "WrittenFrame", "write_frame"]
