"""The benchmark harness of the lakehouse: run it with ``lakehouse bench`` (see
``lakehouse.benchmarks.harness``)."""
