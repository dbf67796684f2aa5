"""The chapter's shopping example: 2 apples at 100 and 3 oranges at 150, with 10% tax.

First by hand, calling each layer's forward and backward as the chapter does; then as a Graph whose
backward is automatic. Both print the price and the gradient of the price for every input.
Run: python examples/apple_orange.py [--dot]
"""

from __future__ import annotations

import argparse

from minigrad import AddLayer, MulLayer
from minigrad.models import price_graph  # the same graph, built with Graph.add: see its source


def by_hand() -> None:
    apple, apple_num, orange, orange_num, tax = 100, 2, 150, 3, 1.1
    mul_apple, mul_orange, add_fruit, mul_tax = MulLayer(), MulLayer(), AddLayer(), MulLayer()

    apple_price = mul_apple.forward(apple, apple_num)
    orange_price = mul_orange.forward(orange, orange_num)
    all_price = add_fruit.forward(apple_price, orange_price)
    price = mul_tax.forward(all_price, tax)

    dall_price, dtax = mul_tax.backward(1.0)
    dapple_price, dorange_price = add_fruit.backward(dall_price)
    dorange, dorange_num = mul_orange.backward(dorange_price)
    dapple, dapple_num = mul_apple.backward(dapple_price)

    print("by hand")
    print("  price:", price)
    print("  dApple:", dapple, " dApple_num:", dapple_num)
    print("  dOrange:", dorange, " dOrange_num:", dorange_num)
    print("  dTax:", dtax, " dAll_price:", dall_price)


def as_graph(show_dot: bool) -> None:
    g = price_graph()
    price = g.forward(apple=100, apple_num=2, orange=150, orange_num=3, tax=1.1)
    dapple, dapple_num, dorange, dorange_num, dtax = g.backward(1)
    print("as a Graph (automatic backward)")
    print("  price:", price)
    print("  dApple:", dapple, " dApple_num:", dapple_num)
    print("  dOrange:", dorange, " dOrange_num:", dorange_num)
    print("  dTax:", dtax, " dAll_price:", g.gradients["all_price"])
    if show_dot:
        print(g.to_dot(), end="")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dot", action="store_true", help="also print the graph as Graphviz DOT")
    args = parser.parse_args()
    by_hand()
    as_graph(args.dot)
