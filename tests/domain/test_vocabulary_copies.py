"""No copy of the vocabulary in server/: every list of counties, statuses, kinds, jobs or states is
named through server/domain/vocabulary.py, so adding or renaming a word is one edit.

What counts as a copy (read from the source text, so a copy anywhere in server/ fails here):
- a list, tuple, set, dict (its keys, or its values) or the arguments of one call that hold two or
  more words of one vocabulary set — an enumeration someone would have to keep in step by hand;
- a text holding two or more county names (a regular expression or message that spells the list);
- a text that is exactly a county name (code branching on one county by its literal name).
Not a copy: prose naming words in a sentence (OpenAPI descriptions, Chinese messages) and a single
word passed as data. The demo and the benchmark build sample data, so there a group is a copy only
when it holds every word of a set or repeats one of the vocabulary's mappings: picking some jobs to
staff a demo site, or naming the county a sample lies in, is data; so are the demo's tables of facts
about each county (coordinates, towns, postcodes), which are keyed by county but are not the list.
"""
from __future__ import annotations

import ast
import pathlib

from server.domain import device_access_flow, vocabulary

SERVER = pathlib.Path(__file__).resolve().parents[2] / "server"
VOCABULARY_MODULE = SERVER / "domain" / "vocabulary.py"
# Demo, benchmark and the synthetic-data module build sample data; naming one county in it is data, not a copy.
DATA_BUILDERS = (SERVER / "demo", SERVER / "bench", SERVER / "synthetic.py")

SETS: dict[str, frozenset[str]] = {name: frozenset(words) for name, words in {
    "counties": vocabulary.COUNTIES,
    "project statuses": vocabulary.PROJECT_STATUSES,
    "project categories": vocabulary.PROJECT_CATEGORIES,
    "unit types": vocabulary.UNIT_TYPES + tuple(vocabulary.UNIT_TYPE_ALIASES),
    "manager teams": tuple(vocabulary.MANAGER_TEAM_BY_UNIT_TYPE.values()),
    "team kinds": vocabulary.TEAM_KINDS,
    "manager jobs": vocabulary.MANAGER_JOBS,
    "worker jobs": vocabulary.WORKER_JOBS,
    "other staff jobs": vocabulary.OTHER_STAFF_JOBS,
    "contract term types": vocabulary.CONTRACT_TERM_TYPES,
    "declaration states": vocabulary.DECLARATION_STATES,
    "business scopes": vocabulary.SCOPE_CODES,
    "scope states": vocabulary.SCOPE_STATES,
    "device access states": vocabulary.DEVICE_ACCESS_STATES,
    "environments": vocabulary.ENVIRONMENTS,
}.items()}
# Mappings the vocabulary already holds; a demo table repeating their entries is a copy, not data.
MAPPINGS = [vocabulary.COUNTY_AREA_CODES, vocabulary.DECLARATION_STATE_NAMES, vocabulary.SCOPE_STATE_NAMES,
            vocabulary.DEVICE_ACCESS_STATE_NAMES, vocabulary.ENVIRONMENT_NAMES, vocabulary.SCOPE_NAMES]


def _text(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and _text(first.value) is not None:
                ids.add(id(first.value))
    return ids


def _groups(node) -> list[tuple[str, list]]:
    """The sibling expressions a copy would be spelled in, with what they are."""
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [("literal", node.elts)]
    if isinstance(node, ast.Dict):
        return [("dict keys", [k for k in node.keys if k is not None]), ("dict values", node.values)]
    if isinstance(node, ast.Call):
        return [("call arguments", node.args)]
    return []


def _repeats_a_mapping(node) -> bool:
    items = {_text(k): _text(v) for k, v in zip(node.keys, node.values) if k is not None}
    return len(items) >= 2 and any(items.items() <= mapping.items() for mapping in MAPPINGS)


def _is_demo_fact_table(node, data_builder: bool) -> bool:
    return data_builder and isinstance(node, ast.Dict) and not _repeats_a_mapping(node)


def copies_in(path: pathlib.Path, source: str) -> list[str]:
    tree = ast.parse(source)
    docstrings = _docstrings(tree)
    data_builder = any(path.is_relative_to(d) for d in DATA_BUILDERS)
    found = []
    for node in ast.walk(tree):
        for what, members in _groups(node):
            if what == "dict keys" and _is_demo_fact_table(node, data_builder):
                continue
            words = {t for t in map(_text, members) if t is not None}
            for name, vocabulary_set in SETS.items():
                if data_builder and not (
                        vocabulary_set <= words or what == "dict keys" and _repeats_a_mapping(node)):
                    continue
                if len(words & vocabulary_set) >= 2:
                    found.append(f"{node.lineno}: {what} repeat the {name} {sorted(words & vocabulary_set)}")
        text = _text(node)
        if text is None or id(node) in docstrings:
            continue
        counties = [c for c in vocabulary.COUNTIES if c in text]
        if len(counties) >= 2:
            found.append(f"{node.lineno}: a text spells the counties {counties}")
        elif text in SETS["counties"] and not data_builder:
            found.append(f"{node.lineno}: the county {text!r} written out")
    return found


def test_no_copy_of_the_vocabulary_in_server():
    found = []
    for path in sorted(SERVER.rglob("*.py")):
        if path != VOCABULARY_MODULE:
            found += [f"{path.relative_to(SERVER)}:{c}" for c in copies_in(path, path.read_text())]
    assert not found, "name these through server/domain/vocabulary.py:\n" + "\n".join(found)


def test_the_scan_finds_each_kind_of_copy():
    # The scan must be able to fail: each of these is how a copy looked before the vocabulary.
    samples = {
        'STATUS = {"enum": ["在建", "停工", "完工", "注销"]}': "project statuses",
        'TAG = {"pending": "wait", "passed": "ok", "failed": "bad"}': "declaration states",
        'F = enum("test", "production")': "environments",
        'PATTERN = r"^(江门市)?(蓬江区|江海区|新会区)?"': "counties",
        'if county != "市辖区": pass': "'市辖区'",
        'CODES = {"蓬江区": "440703", "江海区": "440704"}': "counties",
    }
    for source, expected in samples.items():
        found = copies_in(SERVER / "store" / "example.py", source)
        assert found and expected in found[0], (source, found)
    # The demo may tabulate facts about each county, but not repeat the vocabulary's own mapping.
    demo = SERVER / "demo" / "example.py"
    assert copies_in(demo, 'XY = {"蓬江区": (113.07, 22.59), "江海区": (113.11, 22.56)}') == []
    assert copies_in(demo, 'CODES = {"蓬江区": "440703", "江海区": "440704"}')
    assert copies_in(demo, 'JOBS = ["钢筋工", "木工"]') == []
    assert copies_in(demo, 'KINDS = ("管理人员班组", "普通工人班组", "其他人员班组")')
    # Prose naming words is not a copy.
    assert copies_in(SERVER / "api" / "example.py", 'operation("变更项目状态（在建/停工/完工/注销）")') == []


def test_validators_are_built_from_the_vocabulary():
    from server.store.schema import VALIDATORS

    def enum(collection, field):
        return VALIDATORS[collection]["$jsonSchema"]["properties"][field]["enum"]
    assert enum("projects", "county") == list(vocabulary.COUNTIES)
    assert enum("projects", "status") == list(vocabulary.PROJECT_STATUSES)
    assert enum("declarations", "county") == list(vocabulary.COUNTIES)
    assert enum("teams", "kind") == list(vocabulary.TEAM_KINDS)
    assert enum("device_access", "state") == list(vocabulary.DEVICE_ACCESS_STATES)


def test_device_access_actions_name_vocabulary_states():
    for action in device_access_flow.ACTIONS.values():
        assert set(action.sources) <= set(vocabulary.DEVICE_ACCESS_STATES), action
        assert action.target in vocabulary.DEVICE_ACCESS_STATES, action
    assert set(device_access_flow.STATES) == set(vocabulary.DEVICE_ACCESS_STATES)
