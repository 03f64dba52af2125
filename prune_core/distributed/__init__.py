"""The Ray engine: ``compute --engine ray`` (Ray Train fine-tune, Ray Data extraction into a sharded
run store) and Ray tasks for selectors that split. The local engine (``prune_core/pipeline.py``) stays
the default and the oracle this one is tested against (``tests/test_distributed_*.py``)."""
