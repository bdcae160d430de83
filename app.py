"""nnviz: the router and the frame every page shares. Run with ``streamlit run app.py``."""

import os

# Quiet TensorFlow's start-up chatter before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import streamlit as st

from nnviz.ui.frame import sidebar
from nnviz.ui.persist import restore_session, save_session
from nnviz.ui.runtime import keep_keras_state_between_runs, note_page
from nnviz.ui.sharing import follow_address, write_address
from nnviz.ui.state import PRESENT, init_state
from nnviz.views.style import projector_style

keep_keras_state_between_runs()
st.set_page_config(page_title="nnviz — see a neural network learn", page_icon=":material/hub:", layout="wide")
init_state()
restore_session()  # what this browser trained before a reload
follow_address()  # then the setup in the address, on top
write_address()
page = st.navigation(
    [
        st.Page("pages/home.py", title="Start", icon=":material/home:", default=True),
        st.Page("pages/lessons.py", title="Lessons", icon=":material/school:"),
        st.Page("pages/data.py", title="1 · Data", icon=":material/table_chart:"),
        st.Page("pages/build.py", title="2 · Build", icon=":material/layers:"),
        st.Page("pages/train.py", title="3 · Train", icon=":material/model_training:"),
        st.Page("pages/evaluate.py", title="4 · Evaluate", icon=":material/fact_check:"),
        st.Page("pages/inspect.py", title="5 · Inspect", icon=":material/biotech:"),
    ],
    position="top" if st.session_state[PRESENT] else "sidebar",  # presentation mode hides the sidebar
)
note_page(page.url_path)  # a run may go on while its page is open, even when redraws come late
sidebar(on_lessons=page.url_path == "lessons")
try:
    with projector_style(st.session_state[PRESENT]):
        page.run()
finally:  # also when the page stops early (st.stop) or reruns
    save_session()
    write_address()
