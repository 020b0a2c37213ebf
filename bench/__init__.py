"""The benchmark behind ``manage.py bench``: the whole path against a simulator, and baselines."""
