"""Enough YAML to read compose files, with the standard library alone.

Block mappings and sequences, flow collections (also over several lines), quoted and
plain scalars, block scalars (| and >), comments, anchors, aliases and `<<` merges.
Scalars stay strings. Only the first document is read. Anything it cannot make sense of
raises FormatError; it never loops or recurses without bound.
"""

from __future__ import annotations

import re
from typing import Any

from .formats import FormatError

MAX_DEPTH = 64
_KEY = re.compile(
    r"""^(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\-?:,\[\]{}&*!|>@`][^#]*?|-[^\s#][^#]*?)"""
    r"""\s*:(?:\s+|$)(?P<rest>.*)$"""
)


class _Line:
    __slots__ = ("indent", "number", "text")

    def __init__(self, number: int, indent: int, text: str) -> None:
        self.number = number
        self.indent = indent
        self.text = text


def parse_yaml(text: str) -> Any:
    return _Parser(text).document()


def _strip_comment(text: str) -> str:
    """Remove a trailing ` # comment` that is outside quotes."""
    quote = ""
    for index, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'" and (index == 0 or text[index - 1] in " \t[{,:"):
            quote = char
        elif char == "#" and (index == 0 or text[index - 1] in " \t"):
            return text[:index].rstrip()
    return text.rstrip()


class _Parser:
    def __init__(self, text: str) -> None:
        self.raw = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.lines: list[_Line] = []
        self.anchors: dict[str, Any] = {}
        started = False
        for number, line in enumerate(self.raw):
            stripped = line.strip()
            if stripped.startswith("%") and not started:
                continue
            if stripped == "---" or stripped.startswith("--- "):
                if started:
                    break
                started = True
                rest = stripped[3:].strip()
                if rest and not rest.startswith("#"):
                    self.lines.append(_Line(number, 0, rest))
                continue
            if stripped == "...":
                break
            if not stripped or stripped.startswith("#"):
                continue
            started = True
            body = line.lstrip(" ")
            if body.startswith("\t"):
                raise FormatError(f"invalid YAML: a tab indents line {number + 1}")
            self.lines.append(_Line(number, len(line) - len(body), body.rstrip()))
        self.pos = 0

    def document(self) -> Any:
        if not self.lines:
            return None
        value = self.node(self.lines[0].indent, 0)
        if self.pos < len(self.lines):
            line = self.lines[self.pos]
            raise FormatError(f"invalid YAML: unexpected indentation on line {line.number + 1}")
        return value

    # -- block structure ------------------------------------------------------------------

    def node(self, indent: int, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise FormatError("invalid YAML: nested too deeply")
        line = self.lines[self.pos]
        if line.text == "-" or line.text.startswith("- "):
            return self.sequence(line.indent, depth)
        if _KEY.match(line.text):
            return self.mapping(line.indent, depth)
        self.pos += 1
        return self.inline(line.text, line, indent, depth)

    def sequence(self, indent: int, depth: int) -> list[Any]:
        items: list[Any] = []
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line.indent != indent or not (line.text == "-" or line.text.startswith("- ")):
                break
            rest = line.text[1:].lstrip(" ")
            if not rest:
                self.pos += 1
                items.append(self.child(indent, depth, allow_same=False))
                continue
            inner = indent + len(line.text) - len(rest)
            self.lines[self.pos] = _Line(line.number, inner, rest)
            items.append(self.node(inner, depth + 1))
        return items

    def mapping(self, indent: int, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while self.pos < len(self.lines):
            line = self.lines[self.pos]
            if line.indent != indent:
                if line.indent > indent:
                    raise FormatError(
                        f"invalid YAML: unexpected indentation on line {line.number + 1}"
                    )
                break
            match = _KEY.match(line.text)
            if not match:
                raise FormatError(f"invalid YAML: expected 'key: value' on line {line.number + 1}")
            key = self.scalar(match.group("key").strip())
            rest = _strip_comment(match.group("rest"))
            self.pos += 1
            anchor = ""
            if rest.startswith("&"):
                anchor, _, rest = rest.partition(" ")
                rest = rest.strip()
            if rest.startswith("!"):
                rest = rest.partition(" ")[2].strip()
            if rest:
                value = self.inline(rest, line, indent, depth)
            else:
                value = self.child(indent, depth, allow_same=True)
            if anchor:
                self.anchors[anchor[1:]] = value
            if key == "<<":
                for merged in value if isinstance(value, list) else [value]:
                    if isinstance(merged, dict):
                        for name, item in merged.items():
                            result.setdefault(name, item)
                continue
            result[str(key)] = value
        return result

    def child(self, indent: int, depth: int, allow_same: bool) -> Any:
        """The block node under a `key:` or `-` with nothing after it, or None."""
        if self.pos >= len(self.lines):
            return None
        line = self.lines[self.pos]
        deeper = line.indent > indent
        same_seq = (
            allow_same
            and line.indent == indent
            and (line.text == "-" or line.text.startswith("- "))
        )
        if deeper or same_seq:
            return self.node(line.indent, depth + 1)
        return None

    # -- inline values --------------------------------------------------------------------

    def inline(self, text: str, line: _Line, indent: int, depth: int) -> Any:
        text = _strip_comment(text)
        if text.startswith(("|", ">")):
            return self.block_scalar(text, indent)
        if text.startswith(("[", "{")):
            text = self.flow_text(text)
            value, end = _Flow(text, self.anchors).parse(0, depth)
            if text[end:].strip():
                raise FormatError(
                    f"invalid YAML: text after a flow collection on line {line.number + 1}"
                )
            return value
        if text.startswith("*"):
            name = text[1:].strip()
            if name not in self.anchors:
                raise FormatError(f"invalid YAML: unknown alias *{name}")
            return self.anchors[name]
        if text.startswith("&"):
            anchor, _, rest = text.partition(" ")
            rest = rest.strip()
            value = (
                self.inline(rest, line, indent, depth)
                if rest
                else self.child(indent, depth, allow_same=False)
            )
            self.anchors[anchor[1:]] = value
            return value
        # A plain scalar may continue on more-indented lines.
        parts = [text]
        while (
            self.pos < len(self.lines)
            and self.lines[self.pos].indent > indent
            and text[:1] not in "\"'"
        ):
            parts.append(self.lines[self.pos].text)
            self.pos += 1
        return self.scalar(" ".join(parts))

    def flow_text(self, text: str) -> str:
        """Join the following lines while brackets are open (quotes respected)."""
        while _unbalanced(text) and self.pos < len(self.lines):
            text = f"{text} {_strip_comment(self.lines[self.pos].text)}"
            self.pos += 1
        return text

    def block_scalar(self, header: str, indent: int) -> str:
        start = self.lines[self.pos - 1].number + 1
        collected: list[str] = []
        number = start
        block_indent = -1
        while number < len(self.raw):
            raw = self.raw[number]
            if raw.strip():
                width = len(raw) - len(raw.lstrip(" "))
                if width <= indent:
                    break
                if block_indent < 0:
                    block_indent = width
                collected.append(raw[min(width, block_indent) :])
            else:
                collected.append("")
            number += 1
        while self.pos < len(self.lines) and self.lines[self.pos].number < number:
            self.pos += 1
        text = "\n".join(collected).rstrip("\n")
        if header.startswith(">"):
            text = re.sub(r"(?<!\n)\n(?!\n)", " ", text)
        return text if "-" in header or not text else text + "\n"

    @staticmethod
    def scalar(text: str) -> str:
        text = text.strip()
        if len(text) >= 2 and text[0] == text[-1] == '"':
            return _unescape(text[1:-1])
        if len(text) >= 2 and text[0] == text[-1] == "'":
            return text[1:-1].replace("''", "'")
        return text


def _unescape(text: str) -> str:
    replacements = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "/": "/", "0": "\0"}
    return re.sub(r"\\(.)", lambda m: replacements.get(m.group(1), m.group(1)), text)


def _unbalanced(text: str) -> bool:
    depth = 0
    quote = ""
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
    return depth > 0


class _Flow:
    """Flow collections: [a, "b", {c: d}]."""

    def __init__(self, text: str, anchors: dict[str, Any]) -> None:
        self.text = text
        self.anchors = anchors

    def parse(self, index: int, depth: int) -> tuple[Any, int]:
        if depth > MAX_DEPTH:
            raise FormatError("invalid YAML: nested too deeply")
        index = self.space(index)
        if index >= len(self.text):
            raise FormatError("invalid YAML: a flow collection is not closed")
        char = self.text[index]
        if char == "[":
            return self.collection(index + 1, "]", depth)
        if char == "{":
            return self.collection(index + 1, "}", depth)
        return self.item(index)

    def collection(self, index: int, close: str, depth: int) -> tuple[Any, int]:
        items: list[Any] = []
        pairs: dict[str, Any] = {}
        while True:
            index = self.space(index)
            if index >= len(self.text):
                raise FormatError("invalid YAML: a flow collection is not closed")
            if self.text[index] == close:
                return (pairs if close == "}" else items), index + 1
            value, index = self.parse(index, depth + 1)
            index = self.space(index)
            if index < len(self.text) and self.text[index] == ":":
                item, index = self.parse(index + 1, depth + 1)
                if close == "}":
                    pairs[str(value)] = item
                else:
                    items.append({str(value): item})
            elif close == "}":
                pairs[str(value)] = None
            else:
                items.append(value)
            index = self.space(index)
            if index < len(self.text) and self.text[index] == ",":
                index += 1
            elif index < len(self.text) and self.text[index] != close:
                raise FormatError("invalid YAML: expected ',' in a flow collection")

    def item(self, index: int) -> tuple[Any, int]:
        char = self.text[index]
        if char in "\"'":
            end = index + 1
            while end < len(self.text):
                if self.text[end] == "\\" and char == '"':
                    end += 2
                    continue
                if self.text[end] == char:
                    if char == "'" and self.text[end + 1 : end + 2] == "'":
                        end += 2
                        continue
                    break
                end += 1
            if end >= len(self.text):
                raise FormatError("invalid YAML: a quoted string is not closed")
            return _Parser.scalar(self.text[index : end + 1]), end + 1
        end = index
        while end < len(self.text) and self.text[end] not in ",]}":
            if self.text[end] == ":" and (
                end + 1 >= len(self.text) or self.text[end + 1] in " ,]}"
            ):
                break
            end += 1
        word = self.text[index:end].strip()
        if word.startswith("*"):
            if word[1:] not in self.anchors:
                raise FormatError(f"invalid YAML: unknown alias {word}")
            return self.anchors[word[1:]], end
        return word, end

    def space(self, index: int) -> int:
        while index < len(self.text) and self.text[index] in " \t":
            index += 1
        return index
