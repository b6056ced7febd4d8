"""vitrage_ds._logsafe: bus values become one printable, bounded log line."""

from __future__ import annotations

import testtools

from vitrage_ds._logsafe import MAX_LOGGED, safe


class TestSafe(testtools.TestCase):

    def test_a_plain_id_reads_as_it_is(self) -> None:
        self.assertEqual('0d3f-uuid_1.x', safe('0d3f-uuid_1.x'))

    def test_a_newline_cannot_start_a_forged_line(self) -> None:
        forged = 'a1\n2026-12-07 12:00:00 CRITICAL vitrage_ds pwned'
        self.assertNotIn('\n', safe(forged))
        self.assertIn('\\n', safe(forged))

    def test_unicode_line_breaks_are_escaped(self) -> None:
        for brk in ('\r', '\x85', '\u2028', '\u2029', '\x1b[31m'):
            self.assertTrue(safe(f'a{brk}b').isprintable(), repr(brk))

    def test_non_strings_are_shown_as_their_repr(self) -> None:
        self.assertEqual("['a\\nb', 1]", safe(['a\nb', 1]))

    def test_long_values_are_cut(self) -> None:
        out = safe('x' * 10_000)
        self.assertEqual(MAX_LOGGED + 3, len(out))
        self.assertTrue(out.endswith('...'))

    def test_a_hostile_repr_does_not_raise(self) -> None:
        class Hostile:
            def __repr__(self) -> str:
                raise RuntimeError('no')
        self.assertEqual('<unprintable Hostile>', safe(Hostile()))
