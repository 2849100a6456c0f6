"""The search grammar of runs, shared by runyard's `GET /api/runs?filter=` and MLflow's
`runs/search`: one tokenizer, one parser, errors that name the character where they start.

    metrics.`val/loss` < 0.5 AND params.optimizer = 'adam' AND tags.team LIKE 'vision%'
    attributes.status != 'FAILED' and attributes.run_id IN ('a1', 'b2') and tags.x IS NULL

Clauses are joined by AND (any case). An identifier is ENTITY.KEY, with ENTITY one of
metrics/metric, params/param/parameters, tags/tag, attributes/attribute/attr/run, or a bare
attribute name. Keys with dots, spaces or operators in them are quoted with backticks or
double quotes. Strings are quoted with ' or "; runyard's own dialect also reads JSON literals
(numbers, true, false, null) and bare words as values, as it always did.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from runyard.errors import BadRequest

Entity = Literal["metrics", "params", "tags", "attributes"]
Dialect = Literal["runyard", "mlflow"]

MAX_CLAUSES = 20
NUMERIC_OPS = ("<=", ">=", "!=", "=", "<", ">")
STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IS NULL", "IS NOT NULL")
LIST_OPS = ("IN", "NOT IN")

_ENTITIES: dict[str, Entity] = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
    "run": "attributes",
}

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
  | (?P<backtick>`[^`]*`)
  | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w/.]))
  | (?P<word>[^\s<>=!()'"`,]+)
    """,
    re.VERBOSE,
)


class FilterError(BadRequest):
    """A filter that does not parse; `position` is the 0-based index where the fault starts."""

    def __init__(self, message: str, position: int, text: str):
        snippet = text[max(0, position - 20) : position + 20]
        super().__init__(f"{message} (at character {position}: {snippet!r})")
        self.position = position


@dataclass(frozen=True)
class Comparison:
    entity: Entity
    key: str
    op: str  # one of NUMERIC_OPS, STRING_OPS or LIST_OPS, upper case
    value: Any  # a number, a string, None (IS NULL), or a tuple of strings (IN)
    position: int


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Token]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # an unterminated quote or backtick: nothing else can fail to match
            raise FilterError(f"unterminated quote {text[pos]!r}", pos, text)
        kind = m.lastgroup or ""
        if kind != "space":
            out.append(_Token(kind, m.group(), pos))
        pos = m.end()
    return out


def _unquote(token: _Token) -> str:
    body = token.text[1:-1]
    if token.text[0] == "'":
        body = body.replace("''", "'")
    return re.sub(r"\\(.)", r"\1", body) if token.kind == "string" else body


class _Parser:
    def __init__(self, text: str, dialect: Dialect):
        self.text, self.dialect = text, dialect
        self.toks = _tokens(text)
        self.i = 0

    def error(self, message: str, tok: _Token | None = None) -> FilterError:
        pos = tok.pos if tok is not None else len(self.text)
        return FilterError(message, pos, self.text)

    def peek(self) -> _Token | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, what: str) -> _Token:
        tok = self.peek()
        if tok is None:
            raise self.error(f"the filter ends where {what} was expected")
        self.i += 1
        return tok

    def word_is(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text.upper() in words

    def parse(self) -> list[Comparison]:
        out = [self.comparison()]
        while self.peek() is not None:
            tok = self.take("AND")
            if tok.kind != "word" or tok.text.upper() != "AND":
                hint = "; OR is not supported" if tok.text.upper() == "OR" else ""
                raise self.error(f"expected AND between clauses, got {tok.text!r}{hint}", tok)
            out.append(self.comparison())
            if len(out) > MAX_CLAUSES:
                raise self.error(f"filter has more than {MAX_CLAUSES} clauses", tok)
        return out

    def identifier(self) -> tuple[Entity, str, _Token]:
        tok = self.take("an identifier such as metrics.loss")
        if tok.kind == "backtick" or tok.kind == "string":
            return "attributes", _unquote(tok), tok
        if tok.kind != "word":
            raise self.error(f"expected an identifier such as metrics.loss, got {tok.text!r}", tok)
        head, dot, rest = tok.text.partition(".")
        if not dot:
            return "attributes", tok.text, tok
        entity = _ENTITIES.get(head.lower())
        if entity is None:
            raise self.error(
                f"unknown entity {head!r}: use metrics., params., tags. or attributes.", tok
            )
        if rest:
            return entity, rest, tok
        nxt = self.peek()  # metrics.`my key` or metrics."my key"
        if (
            nxt is None
            or nxt.kind not in ("backtick", "string")
            or nxt.pos != tok.pos + len(tok.text)
        ):
            raise self.error(f"{tok.text!r} names no key", tok)
        self.i += 1
        return entity, _unquote(nxt), tok

    def operator(self) -> tuple[str, _Token]:
        tok = self.take("a comparison operator")
        if tok.kind == "op":
            return ("!=" if tok.text == "<>" else tok.text), tok
        if tok.kind == "word":
            word = tok.text.upper()
            if word in ("LIKE", "ILIKE", "IN"):
                return word, tok
            if word == "NOT" and self.word_is("IN"):
                self.i += 1
                return "NOT IN", tok
            if word == "IS":
                if self.word_is("NOT"):
                    self.i += 1
                    if not self.word_is("NULL"):
                        raise self.error("expected NULL after IS NOT", self.peek())
                    self.i += 1
                    return "IS NOT NULL", tok
                if not self.word_is("NULL"):
                    raise self.error("expected NULL or NOT NULL after IS", self.peek())
                self.i += 1
                return "IS NULL", tok
        raise self.error(
            f"expected an operator ({', '.join(NUMERIC_OPS + STRING_OPS[2:] + LIST_OPS)}), "
            f"got {tok.text!r}",
            tok,
        )

    def value(self) -> tuple[Any, _Token]:
        tok = self.take("a value")
        if tok.kind == "string":
            return _unquote(tok), tok
        if tok.kind == "number":
            number = float(tok.text)
            return (int(number) if number.is_integer() and "." not in tok.text else number), tok
        if self.dialect == "runyard" and tok.kind == "word":
            try:
                literal = orjson.loads(tok.text)
            except orjson.JSONDecodeError:
                return tok.text, tok  # a bare word: compared as a string
            return literal, tok
        raise self.error(f"expected a number or a quoted string, got {tok.text!r}", tok)

    def value_list(self) -> tuple[tuple[str, ...], _Token]:
        start = self.take("'(' and a list of quoted strings")
        if start.kind != "lparen":
            raise self.error(f"IN needs a list in parentheses, got {start.text!r}", start)
        items: list[str] = []
        while True:
            tok = self.take("a quoted string")
            if tok.kind != "string":
                raise self.error(f"IN lists quoted strings, got {tok.text!r}", tok)
            items.append(_unquote(tok))
            sep = self.take("',' or ')'")
            if sep.kind == "rparen":
                return tuple(items), start
            if sep.kind != "comma":
                raise self.error(f"expected ',' or ')', got {sep.text!r}", sep)

    def comparison(self) -> Comparison:
        entity, key, id_tok = self.identifier()
        if not key:
            raise self.error("empty key", id_tok)
        op, op_tok = self.operator()
        value: Any
        if op in ("IS NULL", "IS NOT NULL"):
            value, val_tok = None, op_tok
        elif op in LIST_OPS:
            value, val_tok = self.value_list()
        else:
            value, val_tok = self.value()
        self.check(entity, key, op, value, id_tok, op_tok, val_tok)
        return Comparison(entity, key, op, value, id_tok.pos)

    def check(
        self,
        entity: Entity,
        key: str,
        op: str,
        value: Any,
        id_tok: _Token,
        op_tok: _Token,
        val_tok: _Token,
    ) -> None:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if entity == "metrics":
            if op not in NUMERIC_OPS:
                raise self.error(f"metrics compare with {', '.join(NUMERIC_OPS)}, not {op}", op_tok)
            if not number:
                raise self.error(f"metric {key!r} is compared with a number", val_tok)
        elif entity in ("params", "tags"):
            allowed = STRING_OPS + (NUMERIC_OPS if self.dialect == "runyard" else ())
            if op not in allowed:
                raise self.error(f"{entity} compare with {', '.join(STRING_OPS)}, not {op}", op_tok)
            if self.dialect == "mlflow" and not isinstance(value, (str, type(None))):
                raise self.error(f"{entity[:-1]} {key!r} is compared with a quoted string", val_tok)
            if isinstance(value, (dict, list)):
                raise self.error("a value must be a number, a string, true, false or null", val_tok)
        elif op in LIST_OPS and key not in ("run_id", "id"):
            raise self.error(f"IN and NOT IN apply to run_id only, not {key!r}", op_tok)


def parse_filter(text: str | None, dialect: Dialect = "runyard") -> list[Comparison]:
    """The clauses of a filter; an empty or blank filter has none."""
    if not text or not text.strip():
        return []
    return _Parser(text, dialect).parse()


@dataclass(frozen=True)
class OrderKey:
    entity: Entity
    key: str
    descending: bool


def parse_order_key(text: str) -> OrderKey:
    """One MLflow order_by item: `metrics.acc DESC`, `attributes.start_time`, `params.lr ASC`."""
    raw = text.strip()
    descending = False
    head, _, tail = raw.rpartition(" ")
    if head and tail.upper() in ("ASC", "DESC"):
        descending, raw = tail.upper() == "DESC", head.strip()
    parser = _Parser(raw, "mlflow")
    if not parser.toks:
        raise FilterError("order_by names no key", 0, text)
    entity, key, tok = parser.identifier()
    if parser.peek() is not None:
        extra = parser.peek()
        raise parser.error(f"unexpected {extra.text!r} in order_by", extra)  # type: ignore[union-attr]
    if not key:
        raise parser.error("order_by names no key", tok)
    return OrderKey(entity, key, descending)
