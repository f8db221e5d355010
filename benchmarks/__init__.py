"""statelane's benchmark suite: fixed ASL workloads timed in every engine configuration and
side by side with the peer (moto), each sample in a fresh process, outputs checked exactly.

Run `python -m benchmarks --help`. The peer needs the `bench` extra (`pip install -e '.[bench]'`).
"""
