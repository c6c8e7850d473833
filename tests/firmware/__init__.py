"""Firmware tests: the C firmware on the host, and the generated register files."""
