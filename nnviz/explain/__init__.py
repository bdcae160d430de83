"""nnviz explain: what the network computes: layer traces, the loss, boundaries, diagrams, predictions, metrics."""
