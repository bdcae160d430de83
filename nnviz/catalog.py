"""The datasets on offer, by key, in the user's words. Kept apart from :mod:`nnviz.datasets` so that
naming a dataset (the sidebar on every page) does not load scikit-learn."""

BUILT_IN_DATASETS = {
    "moons": "Two moons (2-D, two classes)",
    "iris": "Iris flowers (4 features, three classes)",
    "housing": "California housing (regression)",
    "mnist": "MNIST digits (28×28 images, ten classes)",
}
DATASET_TITLES = {**BUILT_IN_DATASETS, "csv": "Your own CSV file"}
