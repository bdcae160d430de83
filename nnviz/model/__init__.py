"""nnviz model: the architecture as data: specs, building, code export, links, files, cost."""
