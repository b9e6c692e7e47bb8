"""The rules engine: the people directory, the declarative rules and their evaluation.

- :mod:`worker.rules.schema` — pydantic models of the YAML files (the contract);
- :mod:`worker.rules.ruleset` — :class:`Ruleset`, the loaded rules;
- :mod:`worker.rules.load` — :func:`load_ruleset`: read and validate the files, with lines;
- :mod:`worker.rules.checks` — cross-checks between the files, one function per section;
- :mod:`worker.rules.messages` — pydantic errors in the operator's words, did-you-mean;
- :mod:`worker.rules.directory` — :class:`Person`, :class:`Directory` (who a subject is);
- :mod:`worker.rules.facts` — holidays, leave and tracker state as an injectable object;
- :mod:`worker.rules.evaluate` — :func:`evaluate`: the pure decision with a reason per rule;
- :mod:`worker.rules.templates` — activity-description templates;
- :mod:`worker.rules.yamlsource` — YAML with the line of every key.
"""

from __future__ import annotations

__all__: list[str] = []
