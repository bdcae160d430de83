"""The picture of a dense network: which neurons and connections to draw, and with what values.

A network of a few Dense layers has few enough weights to draw every connection; an MNIST network
has 100,000. :func:`network_picture` keeps the picture readable: each layer shows at most
``max_nodes`` neurons (the rest collapse into one "+N more" node) and only the ``max_edges``
strongest connections (largest |weight|) between the neurons shown are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Edge:
    """One connection: from neuron ``source`` of layer ``layer`` to neuron ``target`` of layer ``layer + 1``."""

    layer: int
    source: int
    target: int
    weight: float


@dataclass(frozen=True, eq=False)
class NetworkPicture:
    """What to draw.

    Attributes:
        layer_names: one per column of neurons, inputs first.
        shown: per column, the indices of the neurons drawn.
        hidden: per column, how many neurons are collapsed into the "+N more" node.
        biases: per column, the bias of each neuron drawn (None for the inputs).
        edges: the connections drawn, strongest first within each pair of columns.
        total_edges: how many connections the network has in all.
    """

    layer_names: list[str]
    shown: list[np.ndarray]
    hidden: list[int]
    biases: list[np.ndarray | None]
    edges: list[Edge]
    total_edges: int


def dense_chain(layers: list[tuple[str, list[np.ndarray]]]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """The Dense layers of a network, in order, as ``(name, kernel, bias)``.

    Args:
        layers: every layer as ``(class name, its weights)``; layers without a 2-D kernel and a
            bias (Dropout, Activation, …) are passed over, as they do not change which neuron
            connects to which.

    Raises:
        ValueError: when a layer with weights is not Dense (convolutions are shown on the Inspect
            page instead), or the Dense layers do not form a chain.
    """
    chain = []
    for name, weights in layers:
        if not weights:
            continue
        if name != "Dense" or len(weights) != 2 or weights[0].ndim != 2:
            raise ValueError(
                f"The network picture draws Dense layers only, not {name}: see that layer on the Inspect page."
            )
        chain.append((name, np.asarray(weights[0]), np.asarray(weights[1])))
    for (_, before, _), (_, after, _) in zip(chain, chain[1:]):
        if before.shape[1] != after.shape[0]:
            raise ValueError("The Dense layers do not connect one to the next; the picture needs a chain.")
    return chain


def network_picture(
    chain: list[tuple[str, np.ndarray, np.ndarray]],
    *,
    max_nodes: int = 12,
    max_edges: int = 400,
) -> NetworkPicture:
    """Choose the neurons and connections to draw for a chain of Dense layers.

    Neurons shown in a wide layer are its most connected ones: the largest sum of |weights| in
    and out. ``max_edges`` is shared evenly between the pairs of columns.
    """
    if not chain:
        raise ValueError("The network has no Dense layer to draw.")
    widths = [chain[0][1].shape[0]] + [kernel.shape[1] for _, kernel, _ in chain]
    strength = [np.zeros(width) for width in widths]
    for k, (_, kernel, _) in enumerate(chain):
        strength[k] += np.abs(kernel).sum(axis=1)
        strength[k + 1] += np.abs(kernel).sum(axis=0)
    shown = []
    for width, total in zip(widths, strength):
        if width <= max_nodes:
            shown.append(np.arange(width))
        else:  # keep max_nodes - 1 and leave room for the "+N more" node
            shown.append(np.sort(np.argsort(-total, kind="stable")[: max_nodes - 1]))
    per_pair = max(1, max_edges // len(chain))
    edges = []
    for k, (_, kernel, _) in enumerate(chain):
        block = kernel[np.ix_(shown[k], shown[k + 1])]
        order = np.argsort(-np.abs(block), axis=None, kind="stable")[:per_pair]
        rows, columns = np.unravel_index(order, block.shape)
        edges += [
            Edge(k, int(shown[k][r]), int(shown[k + 1][c]), float(block[r, c])) for r, c in zip(rows, columns)
        ]
    names = ["inputs"] + [f"{name} {k + 1}" for k, (name, _, _) in enumerate(chain)]
    return NetworkPicture(
        layer_names=names,
        shown=shown,
        hidden=[width - len(s) for width, s in zip(widths, shown)],
        biases=[None] + [bias[s] for (_, _, bias), s in zip(chain, shown[1:])],
        edges=edges,
        total_edges=sum(kernel.size for _, kernel, _ in chain),
    )
