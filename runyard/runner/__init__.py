"""The runner: a scheduler that queues jobs on slots and supervises them through a backend.

Kept free of imports: `python -m runyard.runner.shim` starts for every attempt.
"""
