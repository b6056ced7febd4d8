"""Scripts the Vitrage 15.0.1 virtualenv's python runs for the Vitrage-slot tests.

They import Vitrage (and vitrage_ds, from the repository on ``PYTHONPATH``),
never the test suite: each reads its inputs from files and writes one JSON
result file, so that Vitrage's own logging cannot garble it.
"""
