"""page.py: the graph as a self-contained step-through page — its text from Python, and its behaviour in headless Chromium.

The browser tests drive Debian's chromium through Playwright (the test extra; it never downloads a
browser: it is pointed at the system's executable). They skip where either is missing, except under
CI=true, where .ci/run installs both and a missing one fails the test.
"""

from __future__ import annotations

import html
import importlib
import os
import re
import shutil
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from minigrad import Affine, AddLayer, Graph, MulLayer, ReLU, Sequential, Sigmoid, SoftmaxWithLoss
from minigrad.models import price_graph
from minigrad.page import Page, chain_graph

CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def priced():
    g = price_graph()
    g.forward(apple=100, apple_num=2, orange=150, orange_num=3, tax=1.1)
    g.backward(1)
    return g


class Elements(HTMLParser):
    """Every start tag as (tag, attributes), and the text of each <text> element (its <title> left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.labels: list[tuple[dict[str, str | None], str]] = []
        self._open: list[list] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("text", "title"):
            self._open.append([tag, dict(attrs), ""])

    def handle_endtag(self, tag):
        if tag in ("text", "title") and self._open:
            name, attrs, text = self._open.pop()
            if name == "text":
                self.labels.append((attrs, text))

    def handle_data(self, data):
        if self._open and self._open[-1][0] == "text":
            self._open[-1][2] += data


def parse(page: str) -> Elements:
    found = Elements()
    found.feed(page)
    return found


def shown_from(page: str, kind: str) -> dict[int, list[str]]:
    """The labels of a kind ("value" or "grad") by the step they show from."""
    steps: dict[int, list[str]] = {}
    for attrs, text in parse(page).labels:
        if kind in (attrs.get("class") or "").split():
            steps.setdefault(int(attrs["data-s"]), []).append(text)
    return {k: sorted(v) for k, v in sorted(steps.items())}


# ---------------------------------------------------------------------------------------------- the page's text


def test_the_price_page_reveals_values_forward_and_gradients_backward_step_by_step():
    page = priced().to_html()
    assert isinstance(page, str) and isinstance(page, Page)
    assert shown_from(page, "value") == {0: ["1.1", "100", "150", "2", "3"], 1: ["200"], 2: ["450"], 3: ["650"], 4: ["715"]}
    assert shown_from(page, "grad") == {5: ["1"], 6: ["1.1", "650"], 7: ["1.1", "1.1"], 8: ["165", "3.3"], 9: ["110", "2.2"]}
    assert 'data-last="9"' in page


def test_the_side_panel_says_each_step_in_the_books_words_with_its_numbers():
    page = priced().to_html()
    for line in ("MulLayer forward: apple_price = apple × apple_num = 100 × 2 = 200",
                 "AddLayer forward: all_price = apple_price + orange_price = 200 + 450 = 650",
                 "MulLayer forward: price = all_price × tax = 650 × 1.1 = 715",
                 "dout = 1 (∂price/∂price = 1)",
                 "MulLayer backward: d(all_price) = dout × tax = 1 × 1.1 = 1.1",
                 "MulLayer backward: d(tax) = dout × all_price = 1 × 650 = 650",
                 "AddLayer backward: d(apple_price) = dout × 1 = 1.1 × 1 = 1.1",
                 "MulLayer backward: d(apple) = dout × apple_num = 1.1 × 2 = 2.2",
                 "MulLayer backward: d(apple_num) = dout × apple = 1.1 × 100 = 110",
                 "The inputs&#x27; gradients: d(apple) = 2.2, d(apple_num) = 110, d(orange) = 3.3, "
                 "d(orange_num) = 165, d(tax) = 650"):
        assert line in page
    sections = re.findall(r'<section class="step (\w+)" data-k="(\d+)"', page)
    assert [p for p, _ in sections] == ["start"] + ["forward"] * 4 + ["dout"] + ["backward"] * 4
    assert [int(k) for _, k in sections] == list(range(10))


def test_the_page_requests_nothing_it_is_one_file_with_inline_style_script_and_svg():
    page = priced().to_html()
    found = parse(page)
    tags = {tag for tag, _ in found.tags}
    assert {"style", "script", "svg"} <= tags and not tags & {"link", "img", "iframe", "object", "embed", "image", "use"}
    assert not [attrs for tag, attrs in found.tags if "src" in attrs or (tag != "a" and "href" in attrs)]
    assert all(attrs["href"].startswith("#step=") for tag, attrs in found.tags if tag == "a")
    assert set(re.findall(r"https?://[^\s\"')]+", page)) == {"http://www.w3.org/2000/svg"}  # a namespace name, never fetched
    assert set(re.findall(r"url\(([^)]*)\)", page)) == {"#arrow-value", "#arrow-grad"}
    assert "@import" not in page and "@font-face" not in page
    assert "default-src 'none'" in page  # and the browser is told to refuse any request


CVD = {  # Machado, Oliveira & Fernandes (2009), severity 1, on linear RGB
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}


def linear(hex_colour: str) -> np.ndarray:
    c = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def seen_apart(a: str, b: str) -> dict[str, float]:
    """How far apart two colours look (sRGB distance, 0 to √3) to each kind of colour blindness."""
    def srgb(c):
        c = np.clip(c, 0, 1)
        return np.where(c <= 0.0031308, 12.92 * c, 1.055 * c ** (1 / 2.4) - 0.055)
    return {kind: float(np.linalg.norm(srgb(linear(a) @ np.array(m).T) - srgb(linear(b) @ np.array(m).T)))
            for kind, m in CVD.items()}


def test_values_and_gradients_are_told_apart_with_colour_blindness_and_read_on_white():
    page = priced().to_html()
    value, grad = re.search(r"--value: (#\w{6}); --grad: (#\w{6});", page).groups()
    assert min(seen_apart(value, grad).values()) > 0.5
    assert min(seen_apart("#D62728", "#2CA02C").values()) < 0.15  # the usual red and green do not survive it
    for colour in (value, grad):  # WCAG contrast on the white page
        assert 1.05 / (float(linear(colour) @ [0.2126, 0.7152, 0.0722]) + 0.05) >= 4.5
    assert "stroke-dasharray" in page and "font-style: italic" in page  # and never colour alone


def test_fan_out_shows_each_branchs_gradient_and_their_sum_when_the_last_arrives():
    g = Graph(["x", "k", "m"])
    g.add("p", MulLayer(), "x", "k")
    g.add("q", MulLayer(), "x", "x")  # x twice into one node: two edges
    g.add("r", MulLayer(), "x", "m")
    g.add("s", AddLayer(), "p", "q")
    g.add("y", AddLayer(), "s", "r")
    g.forward(2.0, 3.0, 4.0)
    dx, dk, dm = g.backward(1.0)
    assert (dx, dk, dm) == (2 * 2 + 3 + 4, 2.0, 2.0)
    page = g.to_html()
    sums = [(attrs, text) for attrs, text in parse(page).labels if "sum" in attrs["class"].split()]
    assert [text for _, text in sums] == ["Σ = 11"]
    last = int(re.search(r'data-last="(\d+)"', page).group(1))
    assert int(sums[0][0]["data-s"]) == last  # p is the last node backward reaches, and its d(x) completes the sum
    assert "x feeds 4 branches, so its gradient is their sum: d(x) = 4 + 2 + 2 + 3 = 11" in page
    assert sorted(sum(shown_from(page, "grad").values(), [])) == sorted(["1", "1", "1", "1", "1", "4", "2", "2", "3", "2", "2", "Σ = 11"])


def test_the_graph_variables_record_makes_the_same_page_as_the_hand_wired_graph():
    from minigrad import Variable

    apple, apple_num = Variable(100, name="apple"), Variable(2, name="apple_num")
    orange, orange_num = Variable(150, name="orange"), Variable(3, name="orange_num")
    tax = Variable(1.1, name="tax")
    apple_price, orange_price = apple * apple_num, orange * orange_num
    all_price = apple_price + orange_price
    price = all_price * tax
    for v, name in [(apple_price, "apple_price"), (orange_price, "orange_price"), (all_price, "all_price"), (price, "price")]:
        v.name = name
    price.backward()
    page, hand = price.graph.to_html(), priced().to_html()
    assert page == hand  # the same graph, values and gradients: the same page, byte for byte


def test_variable_arithmetic_is_explained_with_its_numbers():
    from minigrad import Variable

    x0, x1 = Variable(3.0, name="x0"), Variable(-4.0, name="x1")
    y = (x0**2 + x1**2) / x0 - x1
    y.backward()
    page = y.graph.to_html()
    for line in ("PowLayer forward: pow_1 = x1^2 = (-4)^2 = 16",
                 "DivLayer forward: div = add / x0 = 25 / 3 = 8.33333",
                 "SubLayer backward: d(x1) = dout × (−1) = 1 × (−1) = -1",
                 "DivLayer backward: d(x0) = −dout × add / x0² = −1 × 25 / 3² = -2.77778",
                 "PowLayer backward: d(x0) = dout × 2 × x0^1 = 0.333333 × 2 × 3^1 = 2",
                 f"x0 feeds 2 branches, so its gradient is their sum: d(x0) = (-2.77778) + 2 = {x0.grad:.6g}"):
        assert line in page
    assert x0.grad == pytest.approx(2 * 3 / 3 - 25 / 9) and x1.grad == pytest.approx(2 * -4 / 3 - 1)


def skip_graph():
    """x0 and x1 each feed a node far to the right: edges that pass other nodes."""
    from minigrad import Variable

    x0, x1 = Variable(3.0, name="x0"), Variable(-4.0, name="x1")
    y = (x0**2 + x1**2).exp().log() / x0 - x1
    y.backward()
    return y.graph


def test_every_label_lies_inside_the_drawing_and_skip_edges_arc_clear_of_the_nodes():
    for g in (priced(), skip_graph()):
        page = g.to_html()
        width, height = map(float, re.search(r'viewBox="0 0 (\d+) (\d+)"', page).groups())
        found = parse(page)
        for attrs, text in found.labels:
            assert 10 <= float(attrs["x"]) <= width - 10 and 10 <= float(attrs["y"]) <= height - 10, text
        bent = []
        for tag, attrs in found.tags:
            if tag == "path" and attrs.get("class") == "edge":
                (ax, ay), (cx, cy), (bx, by) = (map(float, p.split()) for p in re.findall(r"[MQ ]?([\d.]+ [\d.]+)", attrs["d"]))
                bent.append(abs(cx - (ax + bx) / 2) + abs(cy - (ay + by) / 2) > 1)
        assert sum(bent) == (0 if g.output == "price" else 2)  # x0 -> div arcs over, x1 -> sub under


def test_a_graph_before_forward_shows_its_structure_and_order_without_numbers():
    page = price_graph().to_html()
    assert shown_from(page, "value") == {} and shown_from(page, "grad") == {}
    assert "MulLayer forward: apple_price = apple × apple_num</p>" in page
    assert re.findall(r'<section class="step (\w+)"', page) == ["start"] + ["forward"] * 4
    assert "<title>price: forward, step by step</title>" in page


def test_after_forward_only_the_page_has_no_backward_steps():
    g = price_graph()
    g.forward(100, 2, 150, 3, 1.1)
    page = g.to_html()
    assert 'data-last="4"' in page and shown_from(page, "value")[4] == ["715"] and shown_from(page, "grad") == {}


def test_arrays_show_their_shape_on_edges_and_entries_and_range_in_the_panel():
    g = Graph(["x"])
    g.add("h", Sigmoid(), "x")
    x = np.array([[-1.0, 0.0, 2.0], [0.5, 3.0, -2.5]])
    g.forward(x)
    g.backward(np.ones((2, 3)))
    page = g.to_html()
    assert shown_from(page, "value") == {0: ["(2, 3)"], 1: ["(2, 3)"]}
    assert "x: float64 (2, 3): [-1, 0, 2, 0.5, …] range [-2.5, 3]" in page
    assert "Sigmoid backward: d(x) = dout × h × (1 − h) = (2, 3)" in page


def test_names_are_escaped():
    g = Graph(["<b>x</b>", "y&z"])
    g.add('"q"', MulLayer(), "<b>x</b>", "y&z")
    g.forward(2.0, 3.0)
    g.backward()
    page = g.to_html()
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page and "y&amp;z" in page
    assert [text for _, text in parse(page).labels if text in ("<b>x</b>", "y&z")] == ["<b>x</b>", "y&z"]


def test_to_html_writes_the_file_it_returns(tmp_path):
    page = priced().to_html(tmp_path / "price.html", title="The shopping graph", large=True)
    assert (tmp_path / "price.html").read_text(encoding="utf-8") == page
    assert "<title>The shopping graph</title>" in page and '<body class="big"' in page
    assert not [p for p in tmp_path.iterdir() if p.name != "price.html"]  # no temporary file left


def test_in_jupyter_each_page_is_an_iframe_of_its_own():
    page = priced().to_html()
    shown = page._repr_html_()
    assert shown.startswith('<iframe srcdoc="') and 'sandbox="allow-scripts"' in shown
    srcdoc = re.match(r'<iframe srcdoc="([^"]*)"', shown).group(1)
    assert html.unescape(srcdoc) == page  # the whole page, quoted inside one attribute


def test_a_jupyter_kernel_shows_the_page_as_html_and_its_text_briefly():
    nbformat = importlib.import_module("nbformat") if CI else pytest.importorskip("nbformat")
    nbclient = importlib.import_module("nbclient") if CI else pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from minigrad.models import price_graph\n"
        "g = price_graph()\ng.forward(100, 2, 150, 3, 1.1)\ng.backward(1)\ng.to_html()")])
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    (shown,) = nb.cells[0].outputs
    assert shown.output_type == "execute_result"
    assert shown.data["text/html"] == priced().to_html()._repr_html_()
    assert re.fullmatch(r"<minigrad graph page, [\d,]+ characters of HTML>", shown.data["text/plain"])


def test_a_sequential_page_is_its_chain_with_each_tensors_shape():
    rng = np.random.default_rng(0)
    layers = [Affine(rng.normal(size=(4, 5)), np.zeros(5)), ReLU(), Affine(rng.normal(size=(5, 3)), np.zeros(3))]
    net = Sequential(*layers, loss=SoftmaxWithLoss())
    x, t = rng.normal(size=(2, 4)), np.array([0, 2])
    page = net.to_html(x=x, t=t)
    grads = {k: v.copy() for k, v in net.grads.items()}
    expected = net.gradient(x, t)
    assert grads.keys() == expected.keys() and all(np.array_equal(grads[k], expected[k]) for k in grads)
    assert shown_from(page, "value") == {0: ["(2, 4)", "(2,)"], 1: ["(2, 5)"], 2: ["(2, 5)"], 3: ["(2, 3)"],
                                         4: [f"{net.loss(x, t):.6g}"]}
    assert sum(len(v) for v in shown_from(page, "grad").values()) == 5  # dout, the loss's and three layers' dx; none for t
    for text in ("Affine forward: Affine1 = x·W + b = (2, 5)", "ReLU backward: d(Affine1) = dout where Affine1 &gt; 0, else 0",
                 "Affine backward: dW = xᵀ·dout = (4, 5)", "SoftmaxWithLoss backward: d(Affine2) = dout × (softmax(Affine2) − t) / N",
                 "W (4, 5) · b (5,)"):
        assert text in page
    assert [n for n in chain_graph(net).nodes] == ["Affine1", "ReLU1", "Affine2", "loss"]
    assert 'data-last="4"' in net.to_html()  # no x: the chain and its order only
    assert 'data-last="3"' in net.to_html(x=x) and "loss" not in chain_graph(net, with_loss=False).nodes


def test_the_books_own_layers_make_a_page_too():
    import book_code as book  # tests/book_code.py: layers as the book prints them (W, dW attributes)
    rng = np.random.default_rng(3)
    net = Sequential(book.Affine(rng.normal(size=(4, 5)), np.zeros(5)), book.Relu(), book.Affine(rng.normal(size=(5, 3)), np.zeros(3)),
                     loss=book.SoftmaxWithLoss())
    page = net.to_html(x=rng.normal(size=(2, 4)), t=np.array([[1, 0, 0], [0, 0, 1]]))
    assert [n for n in chain_graph(net).nodes] == ["Affine1", "Relu1", "Affine2", "loss"]
    for text in ("Relu backward: d(Affine1) = dout where Affine1 &gt; 0, else 0 = (2, 5)",
                 "Affine backward: dW = xᵀ·dout = (4, 5)", "W (4, 5) · b (5,)", "Affine2.dW: float64 (5, 3)"):
        assert text in page


def test_sequential_to_html_refuses_targets_it_cannot_use():
    net = Sequential(ReLU())
    with pytest.raises(ValueError, match="Sequential.to_html: targets t were given, but this Sequential has no loss"):
        net.to_html(x=np.ones((1, 2)), t=np.array([0]))
    with pytest.raises(ValueError, match="Sequential.to_html: targets t were given without inputs x"):
        Sequential(ReLU(), loss=SoftmaxWithLoss()).to_html(t=np.array([0]))


# ---------------------------------------------------------------------------------------------- in a real browser


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (never a downloaded browser); skipped without them unless CI=true."""
    try:
        sync_api = importlib.import_module("playwright.sync_api")
    except ImportError:
        if CI:
            raise
        pytest.skip("playwright is not installed (the test extra)")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        if CI:
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Tab:
    """A fresh browser page that records every request, console message and page error."""

    def __init__(self, browser, **options) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 720}, **options)
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: self.errors.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready='1']")

    def visible(self, kind: str) -> list[str]:
        """The texts of the labels of a kind ("value", "grad") that the browser shows now."""
        return sorted(self.page.evaluate(
            "kind => [...document.querySelectorAll('text.' + kind)].filter(t => t.checkVisibility())"
            ".map(t => t.lastChild.nodeValue)", kind))

    def step(self) -> int:
        return int(self.page.get_attribute("body", "data-step"))

    def panel(self) -> str:
        return self.page.inner_text("aside section.step:not([hidden])")

    def close(self) -> None:
        self.context.close()


def test_the_demo_page_steps_through_the_chapters_figures_in_a_browser(browser, tmp_path):
    done = subprocess.run([sys.executable, "-m", "minigrad", "demo", "--html", "price.html"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    url = (tmp_path / "price.html").resolve().as_uri()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    tab = Tab(browser)
    tab.open(url)
    page = tab.page
    assert tab.step() == 0 and tab.visible("value") == ["1.1", "100", "150", "2", "3"] and tab.visible("grad") == []
    page.screenshot(path=shots / "step0.png")
    values, grads, seen_v, seen_g = [], [], set(tab.visible("value")), []
    for k in range(1, 10):
        page.keyboard.press("ArrowRight")
        assert tab.step() == k and page.url == f"{url}#step={k}"
        now_v, now_g = tab.visible("value"), tab.visible("grad")
        values.append(sorted(set(now_v) - seen_v))
        new_g = list(now_g)
        for g in seen_g:
            new_g.remove(g)
        grads.append(sorted(new_g))
        seen_v, seen_g = set(now_v), now_g
        page.screenshot(path=shots / f"step{k}.png")
    assert values[:4] == [["200"], ["450"], ["650"], ["715"]] and not any(values[4:])
    assert grads[:4] == [[]] * 4 and grads[4] == ["1"]  # step 5: backward starts with dout = 1 at the output
    assert grads[5] == ["1.1", "650"]  # the first node backward: d(all_price), d(tax)
    assert grads[6] == ["1.1", "1.1"] and sorted(grads[7] + grads[8]) == ["110", "165", "2.2", "3.3"]
    assert "MulLayer backward: d(apple) = dout × apple_num = 1.1 × 2 = 2.2" in tab.panel()
    page.keyboard.press("ArrowRight")  # past the last step: stays
    assert tab.step() == 9 and page.is_disabled("#next")

    page.click("#back")  # one step back hides that step's gradients again
    assert tab.step() == 8 and "2.2" not in tab.visible("grad") and "3.3" in tab.visible("grad")
    assert page.url.endswith("#step=8")
    page.keyboard.press("ArrowLeft")
    assert tab.step() == 7 and "MulLayer backward" not in tab.panel() and "AddLayer backward" in tab.panel()
    page.click("#reset")
    assert tab.step() == 0 and tab.visible("grad") == [] and page.url.endswith("#step=0")
    page.click("#next")
    assert tab.step() == 1 and "200" in tab.visible("value")
    page.keyboard.press("End")
    assert tab.step() == 9 and len(tab.visible("grad")) == 9
    page.keyboard.press("Home")
    assert tab.step() == 0

    page.keyboard.press("l")  # large type, for a projector: bigger drawing and text, kept in the address
    assert page.evaluate("document.body.classList.contains('big')") and page.url.endswith("#step=0&large=1")
    page.screenshot(path=shots / "large.png")
    page.keyboard.press("l")
    assert page.url.endswith("#step=0")
    assert tab.requests == [url] and tab.errors == []
    tab.close()

    linked = Tab(browser)  # a lesson links a step: the page opens at it
    linked.open(f"{url}#step=7&large=1")
    assert linked.step() == 7 and linked.page.evaluate("document.body.classList.contains('big')")
    assert sorted(linked.visible("grad")) == ["1", "1.1", "1.1", "1.1", "650"]
    linked.page.evaluate("location.hash = '#step=2'")  # editing the address follows it
    linked.page.wait_for_function("document.body.dataset.step === '2'")
    assert linked.visible("grad") == [] and "450" in linked.visible("value")
    linked.page.screenshot(path=shots / "linked.png")
    assert linked.requests == [url] and linked.errors == []
    linked.close()
    assert len(list(shots.glob("*.png"))) == 12
    print(f"\nscreenshots: {shots}")


def test_play_steps_on_by_itself_and_stops_at_the_end(browser, tmp_path):
    priced().to_html(tmp_path / "price.html")
    url = (tmp_path / "price.html").as_uri()
    tab = Tab(browser)
    tab.page.clock.install()
    tab.open(url + "#step=6")
    tab.page.clock.pause_at(tab.page.evaluate("Date.now()") + 1000)  # from here time moves only when the test says
    tab.page.keyboard.press(" ")
    assert tab.page.inner_text("#play").startswith("Pause")
    tab.page.clock.run_for(2500)
    assert tab.step() == 8
    tab.page.clock.run_for(5000)
    assert tab.step() == 9 and tab.page.inner_text("#play").startswith("Play")
    tab.page.click("#play")  # at the end, play starts over
    assert tab.step() == 0
    tab.page.clock.run_for(1100)
    tab.page.click("#play")
    tab.page.clock.run_for(5000)
    assert tab.step() == 1 and tab.errors == []
    tab.close()


def test_pages_shown_in_jupyter_are_independent_of_each_other(browser, tmp_path):
    g = Graph(["a", "b"])
    g.add("c", AddLayer(), "a", "b")
    g.forward(1.0, 2.0)
    g.backward()
    notebook = tmp_path / "notebook.html"
    notebook.write_text(f"<!DOCTYPE html><html><body>{priced().to_html()._repr_html_()}{g.to_html()._repr_html_()}</body></html>",
                        encoding="utf-8")
    tab = Tab(browser)
    tab.page.goto(notebook.as_uri())
    first, second = tab.page.frames[1], tab.page.frames[2]
    for frame in (first, second):
        frame.wait_for_selector("body[data-ready='1']")
    first.click("#next")
    first.click("#next")
    assert first.get_attribute("body", "data-step") == "2" and second.get_attribute("body", "data-step") == "0"
    second.click("#next")
    assert first.get_attribute("body", "data-step") == "2" and second.get_attribute("body", "data-step") == "1"
    assert first.inner_text("aside section.step:not([hidden]) h2") == "Forward 2/4: orange_price (MulLayer)"
    assert second.inner_text("aside section.step:not([hidden]) h2") == "Forward 1/1: c (AddLayer)"
    assert tab.requests == [notebook.as_uri()] and tab.errors == []
    tab.close()


def test_a_sequential_page_in_a_browser_shows_each_tensors_shape(browser, tmp_path):
    rng = np.random.default_rng(1)
    net = Sequential(Affine(rng.normal(size=(4, 5)), np.zeros(5)), ReLU(), Affine(rng.normal(size=(5, 3)), np.zeros(3)),
                     loss=SoftmaxWithLoss())
    net.to_html(tmp_path / "net.html", x=rng.normal(size=(2, 4)), t=np.array([0, 2]))
    tab = Tab(browser)
    tab.open((tmp_path / "net.html").as_uri() + "#step=5")
    assert tab.visible("value")[:4] == ["(2, 3)", "(2, 4)", "(2, 5)", "(2, 5)"] and tab.visible("grad") == ["1"]
    tab.page.keyboard.press("ArrowRight")
    assert tab.visible("grad") == ["(2, 3)", "1"] and "SoftmaxWithLoss backward" in tab.panel()
    tab.page.screenshot(path=tmp_path / "net.png")
    assert tab.errors == []
    tab.close()


def big_graph(n: int = 1000) -> Graph:
    """n nodes alternating x·a and the sum of the two values before, so most values fan out."""
    g = Graph(["x", "a"])
    names = ["x"]
    for i in range(n):
        if i % 2 == 0:
            names.append(g.add(f"m{i}", MulLayer(), names[-1], "a"))
        else:
            names.append(g.add(f"s{i}", AddLayer(), names[-1], names[-2]))
    return g


def test_a_thousand_node_graph_renders_and_steps_in_the_browser(browser, tmp_path):
    g = big_graph(1000)
    g.forward(1.0, 0.5)
    g.backward()
    started = time.perf_counter()
    page = g.to_html(tmp_path / "big.html")
    built = time.perf_counter() - started
    last = int(re.search(r'data-last="(\d+)"', page).group(1))
    assert last == 1 + 1000 + 1000  # start, every node forward, dout, every node backward
    tab = Tab(browser)
    started = time.perf_counter()
    tab.open((tmp_path / "big.html").as_uri())
    opened = time.perf_counter() - started
    load = tab.page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
    timing = """key => new Promise(done => {
        const t0 = performance.now();
        document.dispatchEvent(new KeyboardEvent('keydown', {key, bubbles: true}));
        requestAnimationFrame(() => requestAnimationFrame(() => done(performance.now() - t0)));
    })"""
    one = [tab.page.evaluate(timing, "ArrowRight") for _ in range(5)]
    assert tab.step() == 5
    to_end = tab.page.evaluate(timing, "End")
    assert tab.step() == last and len(tab.visible("grad")) == sum(map(len, shown_from(page, "grad").values())) > 2000
    back = tab.page.evaluate(timing, "ArrowLeft")
    to_start = tab.page.evaluate(timing, "Home")
    assert tab.step() == 0 and tab.errors == []
    tab.close()
    print(f"\n1,000-node graph ({len(page) / 1e6:.1f} MB page, {last + 1} steps): to_html {built:.2f} s in Python; "
          f"browser open to ready {opened:.2f} s (load event at {load:.0f} ms); one step forward "
          f"{min(one):.0f}-{max(one):.0f} ms, back {back:.0f} ms; jump to the last step {to_end:.0f} ms, to the first {to_start:.0f} ms "
          "(each until two animation frames later)")
