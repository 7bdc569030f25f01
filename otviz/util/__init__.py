"""Small utilities with no knowledge of methods: atomic writes, animation files, output checks, shipped resources."""
