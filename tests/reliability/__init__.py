"""The reliability tier: faults, bad input, broker restarts, secrets.

Importing the package registers the hypothesis profile ``ci`` (no
deadline, bounded examples, derandomised: the same examples on every run)
and loads it unless ``HYPOTHESIS_PROFILE`` names another one; and it makes
the tier print its figures (:mod:`tests.reliability.figures`) when the test
process exits.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

from tests.reliability import figures

settings.register_profile(
    'ci', deadline=None, max_examples=75, derandomize=True, database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get('HYPOTHESIS_PROFILE', 'ci'))
figures.print_at_exit()
