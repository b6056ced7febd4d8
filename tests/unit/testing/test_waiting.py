"""wait_until: polls until something holds, fails the test when it never does."""

from __future__ import annotations

import testtools

from vitrage_ds_testing import wait_until


class WaitUntilTest(testtools.TestCase):

    def test_returns_the_first_truthy_value_once_it_comes(self) -> None:
        answers = iter([None, 0, '', 'ready', 'later'])

        self.assertEqual('ready', wait_until(lambda: next(answers), 'ready', interval=0))
        self.assertEqual('later', next(answers))

    def test_a_value_that_never_comes_fails_naming_what_was_awaited(self) -> None:
        calls: list[int] = []

        error = self.assertRaises(AssertionError, wait_until,
                                  lambda: calls.append(1), 'the moon', 0.0, 0)

        self.assertEqual('timed out after 0.0 s waiting for the moon', str(error))
        self.assertNotEqual([], calls)

    def test_an_exception_of_fetch_comes_out_unchanged(self) -> None:
        def fetch() -> bool:
            raise KeyError('gone')

        self.assertRaises(KeyError, wait_until, fetch, 'anything', 5.0, 0)
