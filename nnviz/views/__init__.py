"""nnviz views: figures and charts, their style and wording."""
