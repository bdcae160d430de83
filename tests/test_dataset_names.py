"""Offline stand-ins are named for what they are on every page, from the first run that loads them."""

import sklearn.datasets
from streamlit.testing.v1 import AppTest

from nnviz.data.catalog import record_stand_in

TIMEOUT = 120
STAND_IN = "Diabetes progression (offline stand-in for California housing)"


def _no_network(*_args, **_kwargs):
    raise OSError("<urlopen error [Errno -3] Temporary failure in name resolution>")


def _sidebar_dataset(at: AppTest) -> str:
    return next(m.value for m in at.sidebar.markdown if str(m.value).startswith("**Dataset:**"))


def test_housing_offline_is_named_diabetes_in_the_sidebar_and_the_dataset_box(monkeypatch):
    monkeypatch.setattr(sklearn.datasets, "fetch_california_housing", _no_network)
    record_stand_in("housing", False)  # as in a fresh server process: nothing is known to be offline yet
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).run()
    at.switch_page("pages/data.py").run()
    at.number_input(key="w.seed").set_value(91).run()  # a split no other test has cached
    at.selectbox(key="w.dataset").set_value("housing").run()
    assert not at.exception, at.exception
    assert _sidebar_dataset(at) == f"**Dataset:** {STAND_IN}"  # already on the run that loaded it
    box = at.selectbox(key="w.dataset")
    assert box.value == "housing" and STAND_IN in box.options
    assert "California housing (regression)" not in box.options
    [warning] = at.warning
    assert "could not be downloaded" in warning.value and "urlopen" not in warning.value
    assert "Errno" not in warning.value and "…" not in warning.value
    at.switch_page("pages/build.py").run()
    assert not at.exception and _sidebar_dataset(at) == f"**Dataset:** {STAND_IN}"


def test_the_sidebar_keeps_the_plain_names_of_datasets_without_a_download():
    at = AppTest.from_file("../app.py", default_timeout=TIMEOUT).run()
    assert _sidebar_dataset(at) == "**Dataset:** Two moons (2-D, two classes)"
    at.switch_page("pages/data.py").run()
    at.selectbox(key="w.dataset").set_value("iris").run()
    assert _sidebar_dataset(at) == "**Dataset:** Iris flowers (4 features, three classes)"
