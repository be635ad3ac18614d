"""A small SPARQL tokenizer: the bare keywords of a query, strings, IRIs and comments skipped.

pyoxigraph exposes no query algebra, yet the endpoint must know before evaluation whether a query
calls out (``SERVICE``) and the store whether it names its own dataset (``FROM``). A substring
test would be fooled by ``"SERVICE"`` in a literal or by ``<http://schema.org/Service>``; this
tokenizer is not, and it errs towards finding a keyword where the text is ambiguous.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_TOKEN = re.compile(
    r"""
      (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''
                |\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                |'(?:[^'\\\n\r]|\\.)*'
                |"(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<comment>\#[^\n\r]*)
    | (?P<variable>[?$]\w+)
    | (?P<name>\w[\w.\-]*(?::[\w.\-:%\\]*)?|:[\w.\-:%\\]*)
    | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)
_BARE_NAME = re.compile(r"\w[\w.\-]*(?::[\w.\-:%\\]*)?")


def tokens(query: str) -> Iterator[tuple[str, str]]:
    """The tokens of ``query`` as ``(kind, text)``: kind ``string``, ``iri``, ``comment``,
    ``variable``, ``name`` (a bare or prefixed name) or ``other`` (one punctuation character)."""
    for match in _TOKEN.finditer(query):
        yield match.lastgroup or "other", match.group()


def service_targets(query: str) -> list[str | None]:
    """What each ``SERVICE`` of ``query`` calls, in order: the IRI written ``<...>``, or
    ``None`` when it is a variable or a prefixed name (which this tokenizer cannot resolve)."""
    targets: list[str | None] = []
    significant = [(kind, text) for kind, text in tokens(query) if kind not in ("comment",)]
    for index, (kind, text) in enumerate(significant):
        if kind != "name" or text.upper() != "SERVICE":
            continue
        following = significant[index + 1 : index + 3]
        if following and following[0][0] == "name" and following[0][1].upper() == "SILENT":
            following = following[1:]
        if following and following[0][0] == "iri":
            targets.append(following[0][1][1:-1])
        else:
            targets.append(None)
    return targets


def keywords(query: str) -> list[str]:
    """The bare words of ``query`` in upper case, in order: keywords, ``a``, numbers,
    function names. Prefixed names, variables, IRIs, literals and comments are left out.

    ``?a<?b)SERVICE?x#>`` reads as an IRI to a tokenizer but as ``?a < ?b) SERVICE ?x`` and a
    comment to a SPARQL parser; so the words of an "IRI" holding both ``)`` and ``#`` count too.
    """
    words: list[str] = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup
        if kind == "name" and ":" not in match.group():
            words.append(match.group().upper())
        elif kind == "iri" and ")" in match.group() and "#" in match.group():
            words += [
                word.group().upper()
                for word in _BARE_NAME.finditer(match.group()[1:-1])
                if ":" not in word.group()
            ]
    return words
