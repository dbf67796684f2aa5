"""examples/chapter4-5.ipynb runs top to bottom in a real kernel (nbclient); Jupyter's rich displays are checked.

The notebook is committed WITH its outputs (figures included), so that a code host shows it; the
test runs a fresh copy and checks that every committed text output is what the run prints. After
changing a cell (or anything a cell prints), re-execute and save it, from a checkout with the test
extra installed (nbclient and ipykernel provide the command):

    jupyter execute --inplace examples/chapter4-5.ipynb
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

import numpy as np
import pytest

from minigrad.jupyter import report_html

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "chapter4-5.ipynb"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(module: str):
    """The test extra's module; under CI its absence fails the test instead of skipping it."""
    return importlib.import_module(module) if CI else pytest.importorskip(module)


def test_the_teachers_notebook_runs_and_shows_its_pictures_and_tables(tmp_path):
    need("matplotlib")
    nbformat = need("nbformat")  # the test extra: nbclient, nbformat, ipykernel
    nbclient = need("nbclient")
    need("ipykernel")
    committed = nbformat.read(NOTEBOOK, as_version=4)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert texts(committed) == texts(nb), ("the committed outputs are not what the notebook prints now; re-execute it: "
                                           "jupyter execute --inplace examples/chapter4-5.ipynb")
    committed_kinds = [key for cell in committed.cells if cell.cell_type == "code" for o in cell.outputs for key in o.get("data", {})]
    assert committed_kinds.count("image/png") >= 2 and "image/svg+xml" in committed_kinds  # its pictures, shown on a code host
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = [key for o in outputs for key in o.get("data", {})]
    assert kinds.count("image/svg+xml") == 2  # the price graph drawn: hand-wired, and recorded by Variables
    assert kinds.count("image/png") >= 2  # the descent path and the learning curve
    assert kinds.count("text/html") == 3  # the step-through page of the price graph, and the two gradcheck reports
    assert sum(o.get("data", {}).get("text/html", "").startswith('<iframe srcdoc="&lt;!DOCTYPE html&gt;') for o in outputs) == 1
    text = "".join(o.get("text", "") for o in outputs)
    assert "0.510825457099338" in text and "[-2.58983747e+13 -1.29524862e+12]" in text
    assert "715.0000000000001 2.2 110.00000000000001 3.3000000000000003 165.0 650.0" in text and "6.0 8.0" in text  # Variables


def texts(nb) -> list[tuple[str, str, str]]:
    """Every code cell's text outputs in order: (kind, printed or plain text, HTML)."""
    return [(o.output_type, o.get("text") or o.get("data", {}).get("text/plain", ""), o.get("data", {}).get("text/html", ""))
            for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]


def test_a_gradcheck_result_shows_as_an_html_table_with_its_failing_row_in_red():
    from minigrad import ReLU
    from minigrad.gradcheck import gradcheck

    class Halved(ReLU):
        def backward(self, dout):
            return 0.5 * super().backward(dout)

    x = np.random.default_rng(0).standard_normal((3, 4))
    good, bad = gradcheck(ReLU(), x), gradcheck(Halved(), x)
    page = bad._repr_html_()
    assert "<th>tensor</th>" in page and "<th>analytic</th>" in page and "<th>numerical</th>" in page
    assert '<tr style="color:#c00"><td>x</td>' in page and "FAIL" in page
    assert "<td>ok</td>" in good._repr_html_() and 'style="color:#c00"' not in good._repr_html_()


def test_report_html_escapes_and_keeps_notes_and_plain_text():
    page = report_html("title <b>\ncol a  col b\n1  <2>\nnote: x & y\n")
    assert page == ("<div><p><b>title &lt;b&gt;</b></p><table><thead><tr><th>col a</th><th>col b</th></tr></thead>"
                    "<tbody><tr><td>1</td><td>&lt;2&gt;</td></tr></tbody></table><pre>note: x &amp; y</pre></div>")
    assert report_html("just one line") == "<div><p><b>just one line</b></p></div>"
