"""The code the plugin guides show is the code the tests run.

``writing-a-driver.rst`` and ``writing-a-notifier.rst`` show their example
inline, so it reads wherever the page is read, unbuilt. Every Python or TOML
block of theirs carries a ``:caption:`` naming the file it comes from: a
path under ``tests/thirdparty`` (the example distribution), or from the
repository's root for a path starting with ``tests/``. A caption ending in
`` (excerpt)`` shows part of the file: whole top-level statements of a
Python file, in the file's order, or whole tables of a TOML file. Any other
block is the whole file, byte for byte.
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import re
import tomllib
from typing import Any

import testtools

REPO = pathlib.Path(__file__).resolve().parents[2]
DOCS = REPO / 'doc' / 'source'
EXAMPLE_PROJECT = REPO / 'tests' / 'thirdparty'
GUIDES = ('writing-a-driver.rst', 'writing-a-notifier.rst')
CHECKED_LANGUAGES = ('python', 'toml')
EXCERPT = ' (excerpt)'

_DIRECTIVE = re.compile(r'^(?P<indent> *)\.\. code-block:: *(?P<language>\S+) *$')
_OPTION = re.compile(r'^ *:(?P<name>[\w-]+):(?: +(?P<value>.*))?$')


@dataclasses.dataclass(frozen=True)
class Block:
    page: str
    line: int
    language: str
    caption: str | None
    text: str

    def __str__(self) -> str:
        return f'{self.page}:{self.line} ({self.caption or "no caption"})'


def code_blocks(page: str, rst: str) -> list[Block]:
    """Every ``.. code-block::`` of ``rst``, its content dedented."""
    lines = rst.splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        match = _DIRECTIVE.match(lines[i])
        if match is None:
            i += 1
            continue
        start, outer = i + 1, len(match['indent'])
        i += 1
        options = {}
        while i < len(lines) and (option := _OPTION.match(lines[i])):
            options[option['name']] = (option['value'] or '').strip()
            i += 1
        content = []
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > outer):
            content.append(lines[i])
            i += 1
        while content and not content[-1].strip():
            content.pop()
        while content and not content[0].strip():
            content.pop(0)
        indent = min((len(line) - len(line.lstrip()) for line in content if line.strip()),
                     default=0)
        text = '\n'.join(line[indent:] for line in content) + '\n'
        blocks.append(Block(page, start, match['language'], options.get('caption'), text))
    return blocks


def named_file(caption: str) -> pathlib.Path:
    """The file a caption names (see the module docstring)."""
    path = caption.removesuffix(EXCERPT)
    return REPO / path if path.startswith('tests/') else EXAMPLE_PROJECT / path


def _statements(source: str) -> tuple[list[str], set[int]]:
    """The text of each top-level statement, and the lines they cover."""
    lines = source.splitlines()
    texts: list[str] = []
    covered: set[int] = set()
    for node in ast.parse(source).body:
        first = min([node.lineno, *(d.lineno for d in getattr(node, 'decorator_list', []))])
        assert node.end_lineno is not None
        texts.append('\n'.join(lines[first - 1:node.end_lineno]))
        covered.update(range(first, node.end_lineno + 1))
    return texts, covered


def _python_excerpt_differences(excerpt: str, source: str) -> list[str]:
    shown, covered = _statements(excerpt)
    stray = [n for n, line in enumerate(excerpt.splitlines(), 1)
             if line.strip() and n not in covered]
    if stray:
        return [f'line {stray[0]} of the excerpt is outside any statement']
    if not shown:
        return ['the excerpt shows no statement']
    statements, _ = _statements(source)
    problems, position = [], 0
    for text in shown:
        try:
            position = statements.index(text, position) + 1
        except ValueError:
            problems.append(f'not a statement of the file (or out of order): '
                            f'{text.splitlines()[0]!r}')
    return problems


def _toml_excerpt_differences(excerpt: str, source: str) -> list[str]:
    def compare(shown: dict[str, Any], actual: Any, where: str) -> list[str]:
        if not isinstance(actual, dict):
            return [f'{where} is not a table in the file']
        if any(not isinstance(value, dict) for value in shown.values()):
            # a table with values of its own is shown whole
            return [] if shown == actual else [f'table {where} differs from the file']
        return [problem for key, value in shown.items()
                for problem in compare(value, actual.get(key), f'{where}.{key}'.lstrip('.'))]
    return compare(tomllib.loads(excerpt), tomllib.loads(source), '')


def differences(block: Block) -> list[str]:
    """How ``block`` differs from the file its caption names (empty: it does not)."""
    if not block.caption:
        return ['the block has no :caption: naming its file']
    path = named_file(block.caption)
    if not path.is_file():
        return [f'{path.relative_to(REPO)} does not exist']
    source = path.read_text()
    if not block.caption.endswith(EXCERPT):
        return [] if block.text == source else [f'differs from {path.relative_to(REPO)}']
    if block.language == 'python':
        return _python_excerpt_differences(block.text, source)
    return _toml_excerpt_differences(block.text, source)


def guide_blocks() -> list[Block]:
    return [block for page in GUIDES
            for block in code_blocks(page, (DOCS / page).read_text())
            if block.language in CHECKED_LANGUAGES]


class TestGuidesShowTheTestedCode(testtools.TestCase):

    def test_every_python_and_toml_block_names_its_file(self) -> None:
        unnamed = [str(b) for b in guide_blocks() if not b.caption]
        self.assertEqual([], unnamed)

    def test_every_block_equals_the_file_or_excerpt_it_names(self) -> None:
        found = {str(b): differences(b) for b in guide_blocks()}
        self.assertEqual({}, {block: problems for block, problems in found.items() if problems})

    def test_the_driver_guide_shows_the_driver_its_packaging_and_its_test(self) -> None:
        self.assertEqual(
            {'vitrage_ds_example/driver.py', 'pyproject.toml (excerpt)',
             'tests/unit/test_thirdparty_contracts.py (excerpt)'},
            {b.caption for b in guide_blocks() if b.page == 'writing-a-driver.rst'})

    def test_the_notifier_guide_shows_the_notifier_its_packaging_and_its_test(self) -> None:
        self.assertEqual(
            {'vitrage_ds_example/notifier.py', 'pyproject.toml (excerpt)',
             'tests/unit/test_thirdparty_contracts.py (excerpt)'},
            {b.caption for b in guide_blocks() if b.page == 'writing-a-notifier.rst'})

    def test_each_guide_shows_the_test_base_class_the_contract_test_relies_on(self) -> None:
        for page in GUIDES:
            tests = [b.text for b in guide_blocks() if b.page == page
                     and b.caption == 'tests/unit/test_thirdparty_contracts.py (excerpt)']
            self.assertEqual(1, len(tests), page)
            self.assertIn('class _WidgetBackend(testtools.TestCase):', tests[0], page)


class TestTheComparison(testtools.TestCase):
    """The checks above would notice a drift: each kind of difference is found."""

    def block(self, caption: str, text: str, language: str = 'python') -> Block:
        return Block('page.rst', 1, language, caption, text)

    def test_a_whole_file_block_equal_to_its_file_passes(self) -> None:
        path = 'vitrage_ds_example/notifier.py'
        text = named_file(path).read_text()
        self.assertEqual([], differences(self.block(path, text)))

    def test_a_whole_file_block_with_one_line_changed_fails(self) -> None:
        path = 'vitrage_ds_example/notifier.py'
        text = named_file(path).read_text().replace('Outcome.DONE', 'Outcome.RETRY', 1)
        self.assertNotEqual([], differences(self.block(path, text)))

    def test_a_whole_file_block_missing_the_end_of_its_file_fails(self) -> None:
        path = 'vitrage_ds_example/notifier.py'
        text = named_file(path).read_text()
        self.assertNotEqual([], differences(self.block(path, text[:len(text) // 2])))

    def test_a_python_excerpt_with_a_changed_statement_fails(self) -> None:
        caption = 'tests/unit/test_thirdparty_contracts.py (excerpt)'
        text = 'import logging\n\nWIDGETS = []\n'
        self.assertNotEqual([], differences(self.block(caption, text)))

    def test_a_python_excerpt_of_whole_statements_passes(self) -> None:
        caption = 'tests/unit/test_thirdparty_contracts.py (excerpt)'
        self.assertEqual([], differences(self.block(caption, 'import logging\n')))

    def test_a_python_excerpt_with_a_comment_of_its_own_fails(self) -> None:
        caption = 'tests/unit/test_thirdparty_contracts.py (excerpt)'
        text = 'import logging\n# not in the file\n'
        self.assertNotEqual([], differences(self.block(caption, text)))

    def test_a_toml_excerpt_with_a_changed_entry_point_fails(self) -> None:
        text = ('[project.entry-points."vitrage_ds.drivers"]\n'
                'example = "vitrage_ds_example.driver:OtherDriver"\n')
        self.assertNotEqual(
            [], differences(self.block('pyproject.toml (excerpt)', text, 'toml')))

    def test_a_toml_excerpt_of_a_whole_table_passes(self) -> None:
        text = ('[project.entry-points."vitrage_ds.drivers"]\n'
                'example = "vitrage_ds_example.driver:ExampleDriver"\n')
        self.assertEqual([], differences(self.block('pyproject.toml (excerpt)', text, 'toml')))

    def test_a_caption_naming_no_file_fails(self) -> None:
        self.assertNotEqual([], differences(self.block('vitrage_ds_example/nope.py', '')))

    def test_blocks_are_read_with_their_caption_and_dedented(self) -> None:
        rst = ('Text\n\n.. code-block:: python\n   :caption: a.py\n\n'
               '   def f():\n\n       return 1\n\nAfter\n')
        self.assertEqual([Block('p.rst', 3, 'python', 'a.py', 'def f():\n\n    return 1\n')],
                         code_blocks('p.rst', rst))
