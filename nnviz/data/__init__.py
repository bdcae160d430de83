"""nnviz data: datasets, CSV files, the catalog of built-in data, drawn digits."""
