"""doc/source/drivers/heat-tables.rst shows every table's schema as declared."""

from __future__ import annotations

import re
from pathlib import Path

import testtools

from vitrage_ds.drivers.heat.tables import CALLS, TABLES, origin

DOC = Path(__file__).resolve().parents[4] / 'doc' / 'source' / 'drivers' / 'heat-tables.rst'


def _sections() -> dict[str, str]:
    text = DOC.read_text()
    schemas = text[text.index('Table schemas\n====='):]
    parts = re.split(r'^``(\w+)``\n-+\n', schemas, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


class TestSchemaDoc(testtools.TestCase):

    def test_every_table_has_a_section_in_declaration_order(self) -> None:
        self.assertEqual(list(TABLES), list(_sections()))

    def test_each_section_lists_the_columns_their_origin_meaning_and_the_call(self) -> None:
        for name, section in _sections().items():
            table = TABLES[name]
            columns = re.findall(r'^   \* - ``(\w+)``\n     - (.*)\n     -(?: (.*))?$',
                                 section, re.MULTILINE)
            self.assertEqual([(c.name, origin(c.source), c.doc) for c in table.columns],
                             columns, name)
            self.assertIn(f'GET {CALLS[table.call].path}', section, name)
            self.assertIn(f'Key: ``{", ".join(table.key)}``', section, name)
