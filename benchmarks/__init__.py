"""The benchmark suite: vitrage_ds vs Vitrage 15.0.1's drivers and the bare bus.

Run ``python -m benchmarks`` (``tox -e bench``, ``python3 tools/dev.py bench``);
``--quick`` for the small run CI makes, ``--only N`` for one benchmark. Each
benchmark is a module (``b1_heat`` ... ``b6_growth``) whose docstring says
what it measures and how; :mod:`benchmarks.suite` runs them and
:mod:`benchmarks.report` prints the table and writes
``doc/source/benchmarks.rst``. Not part of the test suite.
"""
