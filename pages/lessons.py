"""Lessons: the course, step by step, with the app set up for each step and answers it checks."""

import streamlit as st

from nnviz.ui import state
from nnviz.ui.data import current_dataset
from nnviz.ui.lessons_view import app_state, follow_requested_page, lesson_library, lesson_list, lesson_view
from nnviz.ui.runtime import run_through_the_router
from nnviz.ui.text import plain

run_through_the_router()
follow_requested_page()

state.init_state()
session = st.session_state
lessons, errors = lesson_library()
by_name = {lesson.name: lesson for lesson in lessons}
lesson = by_name.get(session[state.LESSON])

if lesson is None:
    st.title("Lessons")
    if session[state.LESSON]:
        st.warning(
            f"This server has no lesson called {plain(session[state.LESSON])} (the link may be from another "
            "server, or the file was removed). Pick one below.",
            icon=":material/search_off:",
        )
    st.caption(
        "Each lesson sets the app up for you, says what to do and checks your answers. "
        "“Open the course example” sets the app up as the course's example and opens the Build page."
    )
    if not lessons:
        st.info(
            "No lessons are installed on this server: lecturers add them as files in lessons/ (see README)."
        )
    lesson_list(lessons, errors)
    st.stop()

dataset = current_dataset()
lesson_view(lesson, app_state(dataset, state.workspace(dataset)), dataset.key)
