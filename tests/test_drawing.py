"""drawing.py: a Graph drawn as the book draws it, checked through the figure's text and the PNG's header."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from minigrad import AddLayer, Graph, MulLayer
from minigrad.drawing import label
from minigrad.models import price_graph

pytest.importorskip("matplotlib")  # the `plot` extra, installed by .ci/run


def texts(fig, color=None):
    """Every text on the figure's axes (only those drawn in `color`, if given)."""
    from matplotlib.colors import same_color

    return [t.get_text() for ax in fig.axes for t in ax.texts if color is None or same_color(t.get_color(), color)]


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_price_graph_picture_shows_every_value_and_every_gradient(tmp_path):
    g = price_graph()
    g.forward(100, 2, 150, 3, 1.1)
    grads = g.backward(1)
    fig = g.draw(tmp_path / "graph.png")
    width, height = fig.get_size_inches() * 100
    assert png_size(tmp_path / "graph.png") == (round(width), round(height))
    shown, red = texts(fig), texts(fig, "red")
    assert [label(v) for v in (100, 2, 150, 3, 1.1)] == ["100", "2", "150", "3", "1.1"]
    for value in g.values.values():  # inputs and every node's forward value: 200, 450, 650, 715
        assert label(value) in shown
    assert {"200", "450", "650", "715"} <= set(shown)
    assert sorted(red) == sorted(["2.2", "110", "3.3", "165", "650", "1.1", "1.1", "1.1", "1"])  # one per edge
    assert [label(d) for d in grads] == ["2.2", "110", "3.3", "165", "650"]
    assert {"apple", "apple_num", "orange", "orange_num", "tax", "price", "×", "+"} <= set(shown)


def test_with_fan_out_each_edge_shows_its_own_gradient():
    g = Graph(["x", "k", "m"])
    g.add("p", MulLayer(), "x", "k")
    g.add("q", MulLayer(), "x", "k")
    g.add("r", MulLayer(), "x", "m")
    g.add("s", AddLayer(), "p", "q")
    g.add("y", AddLayer(), "s", "r")
    g.forward(2.0, 3.0, 4.0)
    assert g.backward(1.0)[0] == 10.0
    red = texts(g.draw(), "red")
    assert red.count("3") == 2 and red.count("4") == 1 and "10" not in red


def test_before_forward_the_picture_has_the_structure_only_and_arrays_show_their_shape():
    g = price_graph()
    assert texts(g.draw(), "red") == [] and "×" in texts(g.draw())
    assert label(np.zeros((2, 3))) == "float64[2, 3]" and label(np.float32(0.5)) == "0.5"


def test_jupyter_shows_the_graph_as_svg():
    g = price_graph()
    g.forward(100, 2, 150, 3, 1.1)
    g.backward(1)
    svg = g._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg


def test_draw_refuses_other_file_types(tmp_path):
    with pytest.raises(ValueError, match=r"Graph.draw: path must end in .png or .svg, got '.*graph.jpg'"):
        price_graph().draw(tmp_path / "graph.jpg")


def test_names_with_dollar_signs_are_drawn_as_written_not_as_math(tmp_path):
    """Issue 21: a node named a$\\frac$ raised matplotlib's mathtext ParseException from Graph.draw."""
    g = Graph(["x$1$", "y"])
    g.add("a$\\frac$", MulLayer(), "x$1$", "y")
    g.forward(**{"x$1$": 2.0, "y": 3.0})
    g.backward(1.0)
    g.draw(tmp_path / "g.png", title="cost in $ and $\\alpha")
    fig = g.draw()
    assert "a$\\frac$" in texts(fig) and "x$1$" in texts(fig)
    assert png_size(tmp_path / "g.png")[0] > 100


def test_every_gradient_has_a_red_arrow_pointing_back_along_its_edge():
    g = price_graph()
    assert not [t for t in g.draw().axes[0].texts if getattr(t, "arrow_patch", None) and t.arrow_patch.get_edgecolor()[0] == 1.0
                and t.arrow_patch.get_edgecolor()[1] == 0.0]  # no backward arrows before backward
    g.forward(100, 2, 150, 3, 1.1)
    g.backward(1)
    ax = g.draw().axes[0]
    red = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None
           and tuple(t.arrow_patch.get_edgecolor()[:3]) == (1.0, 0.0, 0.0)]
    assert len(red) == 9  # one per edge, the output's included
    assert all(t.xy[0] < t.xyann[0] for t in red)  # each points right to left: the backward direction


def test_a_log_axis_reads_as_plain_numbers():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from minigrad.plotting import figure, plain_log_axis

    fig = figure()
    ax = fig.add_subplot()
    ax.plot([0.5, 2.5])
    ax.set_yscale("log")
    plain_log_axis(ax.yaxis)
    FigureCanvasAgg(fig).draw()
    labels = [t.get_text() for t in [*ax.get_yticklabels(), *ax.get_yticklabels(minor=True)] if t.get_text()]
    assert "1" in labels and "0.6" in labels and "2" in labels
    assert not [s for s in labels if "times" in s or "^" in s or "e" in s]  # no 2×10⁰, 10⁻¹ or 6e-01
