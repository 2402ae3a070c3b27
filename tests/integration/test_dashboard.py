"""The Grafana dashboard (conf/halyard-dashboard.json, issue 32 item 2)
queries only metrics halyard exports, so it cannot rot.

    a halyard with metrics, a monitor and a backup section (the archive's
    families are written only with one): every metric named in an `expr`
    of a panel or an annotation, and in the variables' label_values(),
    is in its /metrics: a family's `# TYPE` name or a sample's name, a
    histogram's only as <name>_bucket, _sum or _count; the JSON parses,
    every panel, target and annotation has the ${DS_PROMETHEUS} data source
    and every query filters on $instance
    a copy of the dashboard with a misspelt metric, a _bucket of a gauge, a
    histogram queried bare and a panel without a data source: the checker
    names each of them, and only them
"""

import copy
import json
import pathlib
import re
import urllib.request

import pytest

from test_backup import backup_settings
from util import free_port, scrape

# the dashboard's file and metrics: pool_mode plays no part
pytestmark = pytest.mark.one_pool_mode

DASHBOARD = pathlib.Path(__file__).resolve().parents[2] / "conf" / "halyard-dashboard.json"
DS = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}

# Words of PromQL that are neither functions nor metrics.
KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
            "group_left", "group_right", "inf", "nan"}


def metric_names(expr):
    """The metric names a PromQL expression selects."""
    s = re.sub(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'', '""', expr)  # strings
    s = re.sub(r"\$\{[^}]*\}|\$\w+", "", s)  # Grafana variables
    s = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", s)  # label matchers, ranges
    s = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", s)
    names = set()
    for m in re.finditer(r"(?<![\w.:])[A-Za-z_:][\w:]*", s):
        word = m.group(0)
        if word.lower() in KEYWORDS or re.match(r"\s*\(", s[m.end():]):
            continue  # a keyword, or a function (or an aggregation) called
        names.add(word)
    return names


def variable_expr(query):
    """The PromQL inside a query variable: label_values(expr, label) or
    query_result(expr); "" when it names no metric (label_values(label))."""
    q = query["query"] if isinstance(query, dict) else query
    m = re.fullmatch(r"\s*label_values\((?:(.*),)?\s*\w+\s*\)\s*", q, re.S)
    if m:
        return m.group(1) or ""
    m = re.fullmatch(r"\s*query_result\((.*)\)\s*", q, re.S)
    return m.group(1) if m else q


def all_panels(panels):
    for p in panels:
        yield p
        yield from all_panels(p.get("panels", []))  # a collapsed row holds its own


def queries(dash):
    """(where, expr, datasource) of every query of the dashboard."""
    for p in all_panels(dash["panels"]):
        for t in p.get("targets", []):
            yield f"panel {p.get('title')!r} {t.get('refId')}", t.get("expr", ""), \
                t.get("datasource", p.get("datasource"))
    for a in dash["annotations"]["list"]:
        if "expr" in a:
            yield f"annotation {a.get('name')!r}", a["expr"], a.get("datasource")
    for v in dash["templating"]["list"]:
        if v.get("type") == "query":
            yield f"variable {v['name']!r}", variable_expr(v["query"]), v.get("datasource")


def exported(text):
    """The names a query may select in halyard's exposition `text`."""
    names = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            if kind == "histogram":
                names |= {name + "_bucket", name + "_sum", name + "_count"}
            elif kind == "summary":
                names |= {name, name + "_sum", name + "_count"}
            else:
                names.add(name)
        elif line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][\w:]*", line).group(0))
    return names


def problems(dash, text):
    """What is wrong with the dashboard against the exposition `text`."""
    have = exported(text)
    out = []
    if not any(i.get("name") == "DS_PROMETHEUS" and i.get("pluginId") == "prometheus"
               for i in dash.get("__inputs", [])):
        out.append("no DS_PROMETHEUS in __inputs")
    if not any(v.get("name") == "instance" for v in dash["templating"]["list"]):
        out.append("no instance variable")
    for p in all_panels(dash["panels"]):
        if p.get("type") == "row":
            continue
        if p.get("datasource") != DS:
            out.append(f"panel {p.get('title')!r}: data source {p.get('datasource')!r}")
        if not p.get("targets"):
            out.append(f"panel {p.get('title')!r}: no query")
    for where, expr, ds in queries(dash):
        if ds != DS:
            out.append(f"{where}: data source {ds!r}")
        if not where.startswith("variable 'instance'") and "$instance" not in expr:
            out.append(f"{where}: does not filter on $instance")
        names = metric_names(expr)
        if not names and not where.startswith("variable"):
            out.append(f"{where}: no metric in {expr!r}")
        for name in sorted(names - have):
            out.append(f"{where}: {name} is not exported")
    return out


def metrics_text(start_halyard, tmp_path):
    mport = free_port()
    start_halyard(metrics_port=mport, monitor={"user": "monitor", "password": "monitor"},
                  backup=backup_settings(tmp_path))
    return scrape(mport)


def test_the_dashboard_queries_only_exported_metrics(start_halyard, tmp_path):
    dash = json.loads(DASHBOARD.read_text())
    text = metrics_text(start_halyard, tmp_path)
    # the families the panels are about are there to be checked against
    for kind, name in [("histogram", "halyard_backend_query_duration_seconds"),
                       ("histogram", "halyard_pool_wait_seconds"),
                       ("gauge", "halyard_backup_archive_lag_seconds"),
                       ("gauge", "halyard_backend_lag_seconds"),
                       ("counter", "halyard_shard_moves_total"),
                       ("counter", "halyard_xa_commits_total")]:
        assert f"# TYPE {name} {kind}\n" in text
    queried = set().union(*(metric_names(e) for _, e, _ in queries(dash)))
    assert len(queried) >= 30, sorted(queried)
    assert {"halyard_backend_query_duration_seconds_bucket", "halyard_pool_wait_seconds_bucket",
            "halyard_backend_state", "halyard_backend_role", "halyard_failovers_total",
            "halyard_backup_archive_lag_seconds", "halyard_events_total"} <= queried
    assert problems(dash, text) == []


def test_the_checker_names_what_halyard_does_not_export(start_halyard, tmp_path):
    dash = json.loads(DASHBOARD.read_text())
    text = metrics_text(start_halyard, tmp_path)
    assert metric_names('histogram_quantile(0.99, sum by (le, backend) (rate(a_bucket{x="y z"}'
                        '[$__rate_interval]))) / on (backend) group_left b offset 5m > 1e3') \
        == {"a_bucket", "b"}
    bad = copy.deepcopy(dash)
    panel = copy.deepcopy(next(p for p in bad["panels"] if p.get("targets")))
    panel["title"] = "bogus"
    panel["targets"] = [
        {"refId": "A", "datasource": DS,
         "expr": 'rate(halyard_backend_queries_totl{instance=~"$instance"}[5m])'},
        {"refId": "B", "datasource": DS,
         "expr": 'histogram_quantile(0.9, rate(halyard_pool_waiting_bucket{instance=~"$instance"}[5m]))'},
        {"refId": "C", "datasource": DS, "expr": 'halyard_pool_wait_seconds{instance=~"$instance"}'},
    ]
    bad["panels"].append(panel)
    blind = copy.deepcopy(panel)
    blind["title"] = "blind"
    blind["targets"] = [{"refId": "A", "expr": 'halyard_up{instance=~"$instance"}'}]
    del blind["datasource"]
    bad["panels"].append(blind)
    assert problems(bad, text) == [
        "panel 'blind': data source None",
        "panel 'bogus' A: halyard_backend_queries_totl is not exported",
        "panel 'bogus' B: halyard_pool_waiting_bucket is not exported",
        "panel 'bogus' C: halyard_pool_wait_seconds is not exported",
        "panel 'blind' A: data source None",
    ]
