#!/usr/bin/env python3
"""Renders a Helm chart's templates without helm, for the checks of scripts/deploy-check.sh.

Only the subset of Go templates the project's charts use is understood; anything else is an
error naming the template and the expression, so a chart cannot silently drift past it:

    {{ .Values.a.b }}  {{ .Release.Name }}  {{ .Release.Namespace }}
    {{ .Chart.Name }}  {{ .Chart.Version }}  {{ .Chart.AppVersion }}
    {{ X | quote }}    {{ toJson X }}

Usage: render-chart.py CHART_DIR [RELEASE_NAME] > rendered.yaml
Needs PyYAML (in the venv scripts/deploy-check.sh makes).
"""
import json
import os
import re
import sys

import yaml

EXPR = re.compile(r"{{-?\s*(.*?)\s*-?}}")


def lookup(path, scope, where):
    node = scope
    for key in path.split(".")[1:]:
        if not isinstance(node, dict) or key not in node:
            raise SystemExit(f"render-chart: {where}: {path} is not set")
        node = node[key]
    return node


def scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def evaluate(expr, scope, where):
    parts = [p.strip() for p in expr.split("|")]
    head = parts[0].split()
    if len(head) == 2 and head[0] == "toJson" and head[1].startswith("."):
        value, as_json = lookup(head[1], scope, where), True
    elif len(head) == 1 and head[0].startswith("."):
        value, as_json = lookup(head[0], scope, where), False
    else:
        raise SystemExit(f"render-chart: {where}: unsupported expression {{{{ {expr} }}}}")
    for f in parts[1:]:
        if f != "quote":
            raise SystemExit(f"render-chart: {where}: unsupported function {f}")
        value, as_json = json.dumps(scalar(value)), None
    if as_json is None:
        return value
    return json.dumps(value) if as_json else scalar(value)


def main():
    chart = sys.argv[1]
    release = sys.argv[2] if len(sys.argv) > 2 else "release"
    with open(os.path.join(chart, "Chart.yaml")) as f:
        meta = yaml.safe_load(f)
    with open(os.path.join(chart, "values.yaml")) as f:
        values = yaml.safe_load(f) or {}
    scope = {
        "Values": values,
        "Release": {"Name": release, "Namespace": "default"},
        "Chart": {"Name": meta["name"], "Version": meta["version"], "AppVersion": meta.get("appVersion", "")},
    }
    tdir = os.path.join(chart, "templates")
    out = []
    for name in sorted(os.listdir(tdir)):
        if not name.endswith(".yaml"):
            continue
        with open(os.path.join(tdir, name)) as f:
            text = f.read()
        where = f"templates/{name}"
        body = EXPR.sub(lambda m: evaluate(m.group(1), scope, where), text)
        out.append(f"---\n# Source: {meta['name']}/templates/{name}\n{body.rstrip()}\n")
    sys.stdout.write("".join(out))


if __name__ == "__main__":
    main()
