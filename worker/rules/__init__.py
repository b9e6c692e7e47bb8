"""The rules engine: the people directory, the declarative rules and their evaluation.

- :mod:`worker.rules.schema` — pydantic models of the YAML files (the contract);
- :mod:`worker.rules.loader` — :func:`load_ruleset`: read, validate, cross-check, with lines;
- :mod:`worker.rules.directory` — :class:`Person`, :class:`Directory` (who a subject is);
- :mod:`worker.rules.facts` — holidays, leave and tracker state as an injectable object;
- :mod:`worker.rules.evaluate` — :func:`evaluate`: the pure decision with a reason per rule;
- :mod:`worker.rules.templates` — activity-description templates;
- :mod:`worker.rules.yamlsource` — YAML with the line of every key.
"""

from __future__ import annotations

__all__: list[str] = []
