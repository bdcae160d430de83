"""nnviz training: training in the background, weight snapshots, the per-session store."""
