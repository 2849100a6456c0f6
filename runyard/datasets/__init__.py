"""Datasets: safe unpacking, layout detection, content-hashed versions, checks and transforms."""
