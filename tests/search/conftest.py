"""The search contract suite runs on every engine: the embedded one and a real OpenSearch
node started from the official integration-test distribution (devstack/opensearch.py).

If the node cannot start the suite fails, loudly; set CRM_SEARCH_SKIP_OPENSEARCH=1 to run
only the embedded engine on a machine without Java (never in CI)."""
from __future__ import annotations

import os
import uuid

import pytest

from chalicelib.search.embedded import EmbeddedIndex

ENGINES = ["embedded", "opensearch"]
_node_info: list[str] = []


@pytest.fixture(scope="session")
def opensearch_url():
    if os.environ.get("CRM_SEARCH_SKIP_OPENSEARCH") == "1":
        pytest.skip("CRM_SEARCH_SKIP_OPENSEARCH=1: the OpenSearch half of the contract suite is NOT running")
    from devstack import opensearch

    try:
        node = opensearch.start()
    except Exception as e:  # noqa: BLE001 - reported as a failure with the node's own words
        pytest.fail(f"OpenSearch test node could not start, the contract suite cannot run on OpenSearch:\n{e}", pytrace=False)
    _node_info.append(f"OpenSearch {opensearch.VERSION} node at {node.url} (integration-test distribution, Maven Central)")
    yield node.url
    node.stop()


@pytest.fixture(scope="session")
def _engines(tmp_path_factory, request):
    return {}


@pytest.fixture(params=ENGINES)
def engine(request, tmp_path_factory, _engines):
    name = request.param
    if name not in _engines:
        if name == "embedded":
            _engines[name] = EmbeddedIndex(str(tmp_path_factory.mktemp("search") / "contract.sqlite3"))
        else:
            from chalicelib.search.opensearch import OpenSearchIndex

            url = request.getfixturevalue("opensearch_url")
            idx = OpenSearchIndex(url, f"contract-{uuid.uuid4().hex[:6]}", "ap-southeast-1")
            idx.ensure()
            _engines[name] = idx
    return _engines[name]


@pytest.fixture
def tenant():
    return "t" + uuid.uuid4().hex[:10]


_outcomes: dict[str, dict[str, int]] = {e: {} for e in ENGINES}


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    if "tests/search/" not in report.nodeid:
        return
    for e in ENGINES:
        if f"[{e}" in report.nodeid or f"-{e}]" in report.nodeid:
            _outcomes[e][report.outcome] = _outcomes[e].get(report.outcome, 0) + 1


def pytest_terminal_summary(terminalreporter):
    if not any(_outcomes.values()):
        return
    terminalreporter.section("search contract suite")
    for e in ENGINES:
        counts = ", ".join(f"{n} {k}" for k, n in sorted(_outcomes[e].items())) or "not run"
        terminalreporter.write_line(f"{e:10s} {counts}")
    for line in _node_info:
        terminalreporter.write_line(line)
