"""The live view's wait asks Streamlit's own pending-request objects whether a person is waiting."""

from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

from nnviz.ui.runtime import request_is_the_users


def _pending(*reruns: RerunData) -> bool:
    requests = ScriptRequests()
    for rerun in reruns:
        requests.request_rerun(rerun)
    return request_is_the_users(requests._state, requests._rerun_data)


def _click(widget_id: str) -> WidgetStates:
    states = WidgetStates()
    states.widgets.add(id=widget_id, trigger_value=True)
    return states


def test_nothing_pending_and_timer_ticks_do_not_count():
    assert not _pending()
    tick = RerunData(fragment_id="live", is_auto_rerun=True)
    assert not _pending(tick, tick)


def test_a_whole_page_rerun_a_click_or_leaving_counts():
    assert _pending(RerunData())  # a widget outside the fragment, another page
    assert _pending(RerunData(fragment_id="live", widget_states=_click("pause")))
    # a tick that arrives after the click keeps the click's trigger
    assert _pending(
        RerunData(fragment_id="live", widget_states=_click("pause")),
        RerunData(fragment_id="live", is_auto_rerun=True, widget_states=WidgetStates()),
    )
    requests = ScriptRequests()
    requests.request_stop()  # the tab was closed
    assert request_is_the_users(requests._state, requests._rerun_data)
