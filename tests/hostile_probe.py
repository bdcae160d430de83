"""A Streamlit script that shows every hostile string through plain() in each kind of element that
renders Markdown; tests/test_browser_hostile.py reads what the browser made of them."""

import streamlit as st
from hostile import PAYLOADS

from nnviz.ui.text import plain

for i, payload in enumerate(PAYLOADS):
    text = plain(payload)
    with st.container(key=f"probe-{i}"):
        st.markdown(f"Name: {text}")
        st.error(text)
        st.caption(text)
        st.metric(text, text, help=text)
        with st.expander(text):
            st.write(text)
        st.radio(text, [text], key=f"radio-{i}")
        st.checkbox(text, key=f"check-{i}", help=text)
        st.select_slider(text, [text, "x"], key=f"slide-{i}")
        st.tabs([text])
