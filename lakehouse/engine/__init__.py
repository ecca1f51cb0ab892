"""The Spark Connect engine: embedded Sail by default, any Spark Connect endpoint at scale."""

from lakehouse.engine.resource import EngineMode, SparkEngine

__all__ = ["EngineMode", "SparkEngine"]
