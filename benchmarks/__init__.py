"""otviz's benchmark suite (not part of the tests): `python -m benchmarks` measures and prints the table."""
