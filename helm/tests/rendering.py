"""Rendering the chart for the tests: as `helm install` would
(chart.render, Helm's own engine), as `helm upgrade` would on a cluster
holding given Secrets (render_with_live), its NOTES.txt, and whether the
chart refuses a set of values."""

import base64
import json
import shutil
import tempfile
from pathlib import Path

import helm_python as helm

import chart

# The chart's one call of helm's lookup (templates/_secrets.tpl), which
# render_with_live answers from a dict instead of a cluster.
LIVE_LOOKUP = '{{- toYaml ((lookup "v1" "Secret" .ctx.Release.Namespace .name).data | default dict) }}'


def render(case):
    """The manifests of a cases.Case."""
    return render_with_live(case.values, case.live) if case.live is not None else chart.render(case.values)


def render_with_live(values, live):
    """The chart rendered as `helm upgrade` would on a cluster holding the
    Secrets `live` ({name: {key: text}}): a copy of it whose
    shop.liveSecretData answers from them where lookup asks the cluster."""
    with tempfile.TemporaryDirectory(prefix="shop-chart-") as tmp:
        copy = Path(tmp) / "shop"
        shutil.copytree(chart.CHART, copy)
        path = copy / "templates" / "_secrets.tpl"
        text = path.read_text()
        if text.count(LIVE_LOOKUP) != 1:
            raise ValueError(f"templates/_secrets.tpl does not read live Secrets with {LIVE_LOOKUP} exactly once")
        data = {name: {key: base64.b64encode(value.encode()).decode() for key, value in secret.items()}
                for name, secret in live.items()}
        fake = "{{- $live := %s | fromJson }}{{- toYaml (index $live .name | default dict) }}" % \
            json.dumps(json.dumps(data))
        path.write_text(text.replace(LIVE_LOOKUP, fake))
        return chart.render(values, chart_dir=copy)


def notes(values=None):
    """The rendered NOTES.txt (what `helm install` prints)."""
    with helm.Chart.load(str(chart.CHART)) as loaded:
        rendered = loaded.render(values or {}, name=chart.RELEASE, namespace=chart.NAMESPACE, is_install=True)
    return next((text for path, text in rendered.items() if path.endswith("NOTES.txt")), "")


def refusal(values):
    """Helm's error for `values` (values.schema.json or the templates'
    own `fail`), or None when the chart renders them."""
    try:
        chart.render(values)
    except helm.HelmError as err:
        return err
    return None
