"""Scripts run by Vitrage 15.0.1's own interpreter (not importable from the test process)."""
