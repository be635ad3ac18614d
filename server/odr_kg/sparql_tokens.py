"""A small SPARQL tokenizer: the bare keywords of a query, strings, IRIs and comments skipped.

pyoxigraph exposes no query algebra, yet the endpoint must know before evaluation whether a query
calls out (``SERVICE``) and the store whether it names its own dataset (``FROM``). A substring
test would be fooled by ``"SERVICE"`` in a literal or by ``<http://schema.org/Service>``; this
tokenizer is not, and it errs towards finding a keyword where the text is ambiguous.
"""

from __future__ import annotations

import re

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
