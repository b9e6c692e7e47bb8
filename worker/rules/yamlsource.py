"""Read a YAML file into plain Python values plus the line of every key and list item.

Why not ``yaml.safe_load``: the loader must point at the line of each mistake, so this
module composes PyYAML's node tree and records ``path -> line`` (1-based) while building
the values. It also reads YAML the way an operator expects rather than the YAML 1.1 way:

- mapping keys are always text (``on:`` is the key ``"on"``, not ``True``);
- only ``true``/``false`` are booleans (``NO`` — Norway — and ``yes``/``off`` stay text);
- ``19:00`` is the text ``"19:00"``, not the sexagesimal integer 1140;
- integers are plain decimals; ``0012`` stays the text ``"0012"`` (badge numbers keep
  their leading zeros);
- a key given twice in one mapping is reported, not silently overwritten;
- aliases may repeat what an anchor holds, within a budget: a document whose aliases (and
  ``<<`` merges) would expand it beyond :data:`ALIAS_BUDGET` values more than it holds (and
  beyond 4x its size) is refused at the line where the expansion explodes — a few hundred
  bytes of nested aliases (an "alias bomb") would otherwise expand to billions of values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

__all__ = ["Lines", "Path", "YamlDocument", "YamlProblem", "parse_yaml"]

Path = tuple[str | int, ...]
Lines = dict[Path, int]


_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when available


class _Loader(_Base):  # type: ignore[misc]
    """SafeLoader (libyaml-backed when available) with YAML-1.2-like implicit typing."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*))$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?)$"),
    list("-+0123456789"),
)


@dataclass(frozen=True)
class YamlProblem:
    """A mistake found while reading: 1-based ``line`` and a reason."""

    line: int
    reason: str


@dataclass
class YamlDocument:
    """The values of one YAML document, the line of each path in it, and reading problems."""

    data: Any
    lines: Lines = field(default_factory=dict)
    problems: list[YamlProblem] = field(default_factory=list)

    def line_of(self, path: Path) -> int:
        """The line of the longest prefix of ``path`` that exists in the document (else 1).

        Elements of ``path`` that name nothing in the document (pydantic's union-branch
        labels, for instance) are skipped rather than ending the walk.
        """
        best: Path = ()
        for part in path:
            candidate = (*best, part)
            if candidate in self.lines:
                best = candidate
        return self.lines.get(best, 1)


def parse_yaml(text: str) -> YamlDocument:
    """Parse ``text``; a syntax error becomes a problem at its line and ``data`` is ``None``.

    An empty document is ``None`` too, without a problem.
    """
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = " ".join(p for p in (exc.context, exc.problem) if p)
        return YamlDocument(None, {}, [YamlProblem(line, f"YAML syntax error: {reason}")])
    except yaml.YAMLError as exc:
        return YamlDocument(None, {}, [YamlProblem(1, f"YAML error: {exc}")])
    except RecursionError:
        return YamlDocument(None, {}, [YamlProblem(1, f"nested deeper than {_MAX_DEPTH} levels")])
    finally:
        loader.dispose()
    if node is None:
        return YamlDocument(None)
    bomb = _alias_bomb(node)
    if bomb is not None:
        return YamlDocument(None, {}, [bomb])
    doc = YamlDocument(None, {(): node.start_mark.line + 1})
    doc.data = _build(node, (), doc, loader, depth=0)
    return doc


_MAX_DEPTH = 64
#: How many values aliases may add to a document beyond what it holds (see the module doc).
ALIAS_BUDGET = 10_000


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _alias_bomb(root: Node) -> YamlProblem | None:
    """A problem when expanding ``root``'s aliases would exceed the budget (else None).

    Sizes are computed once per distinct node (aliases share nodes), so this costs time
    linear in the document, not in its expansion.
    """
    size: dict[int, int] = {}
    distinct = 0
    cycle: list[Node] = []

    def measure(node: Node, depth: int) -> int:
        nonlocal distinct
        key = id(node)
        if key in size:
            if size[key] < 0:  # an alias to an enclosing anchor
                cycle.append(node)
                return 1
            return size[key]
        distinct += 1
        size[key] = -1
        total = 1
        if depth <= _MAX_DEPTH:
            for child in _children(node):
                total += measure(child, depth + 1)
        size[key] = total
        return total

    total = measure(root, 0)
    if cycle:
        return YamlProblem(cycle[0].start_mark.line + 1, "an alias refers to its own anchor")
    limit = max(4 * distinct, distinct + ALIAS_BUDGET)
    if total <= limit:
        return None
    node = root  # descend to where the expansion explodes: big, but made of small parts
    while True:
        biggest = max(_children(node), key=lambda n: size.get(id(n), 0), default=None)
        if biggest is None or size.get(id(biggest), 0) <= ALIAS_BUDGET:
            break
        node = biggest
    return YamlProblem(
        node.start_mark.line + 1,
        f"aliases expand this document to {total:,} values, over the budget of {limit:,}"
        " (an alias bomb?); write the values out or use fewer nested aliases",
    )


def _build(node: Node, path: Path, doc: YamlDocument, loader: _Loader, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        doc.problems.append(YamlProblem(node.start_mark.line + 1, "nested too deeply"))
        return None
    if isinstance(node, MappingNode):
        try:
            loader.flatten_mapping(node)  # resolve "<<" merge keys
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            doc.problems.append(YamlProblem(mark.line + 1 if mark else 1, str(exc.problem)))
            return {}
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                doc.problems.append(YamlProblem(line, "a key must be plain text"))
                continue
            key = key_node.value
            if key in result:
                doc.problems.append(YamlProblem(line, f"duplicate key {key!r}"))
                continue
            doc.lines[(*path, key)] = line
            result[key] = _build(value_node, (*path, key), doc, loader, depth + 1)
        return result
    if isinstance(node, SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            doc.lines[(*path, index)] = item.start_mark.line + 1
            items.append(_build(item, (*path, index), doc, loader, depth + 1))
        return items
    try:
        return loader.construct_object(node, deep=True)
    except yaml.YAMLError as exc:
        doc.problems.append(YamlProblem(node.start_mark.line + 1, f"bad value: {exc}"))
        return None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. a date like 2026-02-30
        doc.problems.append(YamlProblem(node.start_mark.line + 1, f"bad value: {exc}"))
        return None
