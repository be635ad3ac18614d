"""A SPARQL tokenizer after the grammar's terminals: the bare keywords of a query, with strings,
IRIs, prefixed names, numbers, language tags and comments each read as one token.

pyoxigraph exposes no query algebra, yet the endpoint wants to tell a client, before evaluation,
that ``SERVICE`` or ``LOAD`` is not available (the worker processes could not reach out anyway:
:mod:`odr_kg.sandbox`), and the store must know whether a query names its own dataset
(``FROM``). A substring test would be fooled by ``"SERVICE"`` in a literal or by
``<http://schema.org/Service>``; a tokenizer that splits differently from the engine would miss
``1.SERVICE`` or ``true.SERVICE``. This one follows the terminals of SPARQL 1.1 (section 19.8):
``1.`` is the integer 1 and a dot, ``ex:a.b`` one prefixed name, ``"x"@en`` a string and a
language tag; where the text is ambiguous it errs towards finding a keyword.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_ESCAPE = r"""\\[_~.\-!$&'()*+,;=/?#@%]"""
_HEX = r"%[0-9A-Fa-f]{2}"
_LOCAL_FIRST = rf"(?:[\w:]|{_HEX}|{_ESCAPE})"
_LOCAL_LAST = rf"(?:[\w:\-\u00B7]|{_HEX}|{_ESCAPE})"
_LOCAL_MIDDLE = rf"(?:[\w.:\-\u00B7]|{_HEX}|{_ESCAPE})"
_PREFIX = r"[^\W\d_](?:[\w.\-\u00B7]*[\w\-\u00B7])?"

_TOKEN = re.compile(
    rf"""
      (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''
                |\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                |'(?:[^'\\\n\r]|\\.)*'
                |"(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><[^<>"{{}}|^`\\\x00-\x20]*>)
    | (?P<comment>\#[^\n\r]*)
    | (?P<variable>[?$]\w+)
    | (?P<langtag>@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*)
    | (?P<number>\d+\.?\d*[eE][+-]?\d+|\.\d+[eE][+-]?\d+|\d*\.\d+|\d+)
    | (?P<pname>_:\w(?:[\w.\-\u00B7]*[\w\-\u00B7])?
              |(?:{_PREFIX})?:(?:{_LOCAL_FIRST}(?:{_LOCAL_MIDDLE}*{_LOCAL_LAST})?)?)
    | (?P<name>[^\W\d]\w*)
    | (?P<other>&&|\|\||!=|<=|>=|\^\^|\S)
    """,
    re.VERBOSE | re.DOTALL,
)
_BARE_NAME = re.compile(r"[^\W\d]\w*")


def tokens(query: str) -> Iterator[tuple[str, str]]:
    """The tokens of ``query`` as ``(kind, text)``: kind ``string``, ``iri``, ``comment``,
    ``variable``, ``langtag``, ``number``, ``pname`` (a prefixed name or blank node label),
    ``name`` (a keyword, function name, ``a``, ``true`` or ``false``) or ``other`` (an
    operator or punctuation: one character, or ``&&``, ``||``, ``!=``, ``<=``, ``>=``, ``^^``)."""
    for match in _TOKEN.finditer(query):
        yield match.lastgroup or "other", match.group()


def service_targets(query: str) -> list[str | None]:
    """What each ``SERVICE`` of ``query`` calls, in order: the IRI written ``<...>``, or
    ``None`` when it is a variable or a prefixed name (which this tokenizer cannot resolve)."""
    targets: list[str | None] = []
    significant = [(kind, text) for kind, text in tokens(query) if kind != "comment"]
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
    """The bare words of ``query`` in upper case, in order: keywords, ``a``, function names,
    booleans. Prefixed names, variables, IRIs, literals, numbers and comments are left out.

    ``?a<?b)SERVICE?x#>`` reads as an IRI to a tokenizer but as ``?a < ?b) SERVICE ?x`` and a
    comment to a SPARQL parser; so the words of an "IRI" holding both ``)`` and ``#`` count too.
    """
    words: list[str] = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup
        if kind == "name":
            words.append(match.group().upper())
        elif kind == "iri" and ")" in match.group() and "#" in match.group():
            words += [word.group().upper() for word in _BARE_NAME.finditer(match.group()[1:-1])]
    return words
