"""A Streamlit client that speaks the browser's websocket protocol: one simulated user, no browser.

Written for **Streamlit 1.67.0** (pinned in requirements.txt): the messages below are that
version's ``BackMsg``/``ForwardMsg`` protobufs, and the behaviour copied from its frontend
(``App.tsx``, ``WidgetStateManager``) is that version's. A newer Streamlit may change them.

How a session goes, as the frontend does it:

1. ``GET /`` (the page; a load balancer's affinity cookie arrives here), then a websocket to
   ``/_stcore/stream`` with the subprotocols ``["streamlit", <xsrf token or placeholder>]``.
2. ``BackMsg.rerun_script`` with a ``ClientState``: the address's query string, the widget states,
   ``page_script_hash`` (empty at first: the server picks the page from ``page_name``, the URL
   path), the browser's context (timezone, locale, URL) and no cached-message hashes, so the
   server never answers with a ``ref_hash`` reference to a message this client would not have.
3. ForwardMsgs: ``new_session`` starts a run (its ``metadata.run`` names the run and, for a
   fragment's rerun, the fragments), ``navigation`` lists the pages with their hashes, ``delta``
   puts an element or a block at ``metadata.delta_path`` (root 0 is the main area, 1 the
   sidebar), ``page_info_changed`` is the new query string, ``auto_rerun`` /
   ``stop_auto_rerun`` start and stop a fragment's ``run_every`` timer, ``script_finished`` ends
   a run. When a run finishes, the elements it did not draw again are dropped (for a fragment's
   run, only within that fragment).
4. A widget change is a new ``rerun_script`` with that widget's state in the field of its type:
   ``string_value`` for a selectbox and a radio (the option as shown), ``int_value`` or
   ``double_value`` for a number input (by its data type), ``double_array_value`` for a slider
   (``string_array_value``, the options as shown, for a select slider),
   ``bool_value`` for a checkbox or toggle, ``string_value`` for a text input, and a one-shot
   ``trigger_value`` for a button. A page change sends the target's ``page_script_hash``, the
   query string left empty (the app writes its own) and only the widgets of the main script.
5. ``run_every`` fragments are rerun by the *client*: the frontend sets an interval timer per
   ``auto_rerun`` message and sends ``rerun_script`` with ``fragment_id`` and
   ``is_auto_rerun`` on each tick, until a full run starts, the page changes or the server
   sends ``stop_auto_rerun``. This client does the same, or a live view would never advance.

Every wait fails (:class:`PageError`) on an exception element on the page, a closed socket, or
``silence_s`` seconds without a message from the server.
"""

from __future__ import annotations

import collections
import http.cookiejar
import random
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import websocket  # websocket-client: synchronous, so it also runs in Locust's gevent greenlets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NumberInput_pb2 import NumberInput
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = ForwardMsg.ScriptFinishedStatus
WIDGET_TYPES = frozenset(
    {
        "button",
        "checkbox",
        "download_button",
        "multiselect",
        "number_input",
        "radio",
        "selectbox",
        "slider",
        "text_area",
        "text_input",
        "file_uploader",
    }
)


class PageError(AssertionError):
    """What a user would call broken: an exception on the page, a lost connection, a page that
    stopped answering, or a page that does not show what the step expects."""


@dataclass
class Node:
    """One element or block of the page, as the last run that drew it left it."""

    element: Element | None  # None for a block
    run_id: str
    fragment_id: str
    script_hash: str  # the script that drew it: the main script (app.py) or the page's


@dataclass(frozen=True)
class Run:
    """A finished script run: its status and when it finished (``time.perf_counter``)."""

    status: int
    fragment_ids: tuple[str, ...]
    finished_at: float


class StreamlitClient:
    """One browser tab's worth of Streamlit protocol, without the browser.

    Args:
        url: the app's address, e.g. ``http://127.0.0.1:8501`` (or a load balancer's).
        silence_s: a wait fails after this many seconds without a message from the server.
        on_message: called with each ForwardMsg received (from the reader thread).
    """

    def __init__(self, url: str, *, silence_s: float = 60.0, on_message: Callable | None = None):
        self.url = url.rstrip("/")
        self.silence_s = silence_s
        self.on_message = on_message
        self.cookies = http.cookiejar.CookieJar()
        self.pages: dict[str, str] = {}  # page title → page_script_hash
        self.page_hash = ""
        self.main_script_hash = ""
        self.query_string = ""
        self.tree: dict[tuple[int, ...], Node] = {}
        self.runs: list[Run] = []  # every finished run, in order
        self.messages = 0
        self._values: dict[str, WidgetState] = {}  # widget id → the state this user set
        self._timers: dict[str, tuple[float, float]] = {}  # fragment id → (interval, next tick)
        self._run_id = ""
        self._fragment_ids: tuple[str, ...] = ()
        self._last_heard = time.monotonic()
        self._closed: str | None = None
        self._changed = threading.Condition()
        self._ws: websocket.WebSocket | None = None
        # the last messages both ways, for the report of a failure: (time, what)
        self.trail: collections.deque[tuple[float, str]] = collections.deque(maxlen=40)

    # -- connection -------------------------------------------------------------------------

    def connect(self, path: str = "", *, timeout_s: float = 60.0) -> float:
        """Open the app at ``path`` (``""`` is the default page) and wait for its first run.

        Returns the seconds from sending the first ``rerun_script`` to the end of that run.
        """
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        opener.open(f"{self.url}/{path}", timeout=timeout_s).read()  # the page, and any affinity cookie
        parts = urllib.parse.urlsplit(self.url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        self._ws = websocket.create_connection(
            f"{scheme}://{parts.netloc}{parts.path}/_stcore/stream",
            subprotocols=["streamlit", "PLACEHOLDER_AUTH_TOKEN"],
            cookie=cookie or None,
            origin=f"{parts.scheme}://{parts.netloc}",
            timeout=timeout_s,
            enable_multithread=True,
        )
        self._ws.settimeout(None)
        self._path = path
        threading.Thread(target=self._read, name="streamlit-reader", daemon=True).start()
        threading.Thread(target=self._tick, name="streamlit-timers", daemon=True).start()
        return self._timed_run(lambda: self._send_rerun(page_name=path), timeout_s=timeout_s)

    def close(self) -> None:
        self._closed = self._closed or "closed by the client"
        if self._ws is not None:
            try:
                self._ws.close()
            except (OSError, websocket.WebSocketException):
                pass
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> StreamlitClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- what the page shows ----------------------------------------------------------------

    def elements(self, kind: str | None = None) -> list[Element]:
        """The page's elements in page order (main area, then sidebar), of one type if given."""
        with self._changed:
            nodes = sorted(self.tree.items())
        found = [n.element for _, n in nodes if n.element is not None]
        return [e for e in found if kind is None or e.WhichOneof("type") == kind]

    def texts(self) -> list[str]:
        """Every text the page shows: titles, markdown, captions, alerts, metrics, code, progress bars'
        texts, exceptions."""
        out = []
        for element in self.elements():
            kind = element.WhichOneof("type")
            proto = getattr(element, kind)
            if kind in ("markdown", "heading", "alert", "text"):
                out.append(proto.body)
            elif kind == "metric":
                out.append(f"{proto.label}: {proto.body}")
            elif kind == "code":
                out.append(proto.code_text)
            elif kind == "progress":
                out.append(proto.text)
            elif kind == "exception":
                out.append(f"{proto.type}: {proto.message}")
        return out

    def shows(self, text: str) -> bool:
        """Whether some text on the page contains ``text`` (markdown's backslash escapes ignored)."""
        return any(text in t or text in t.replace("\\", "") for t in self.texts())

    def exceptions(self) -> list[str]:
        """The exception elements on the page, as ``Type: message``."""
        return [f"{e.exception.type}: {e.exception.message}" for e in self.elements("exception")]

    def widgets(self, label: str, kind: str | None = None, *, key: str | None = None) -> list:
        """The widgets labelled ``label`` (of type ``kind``; whose id holds ``key``), in page order."""
        found = []
        for element in self.elements():
            type_ = element.WhichOneof("type")
            if type_ not in WIDGET_TYPES or (kind and type_ != kind):
                continue
            proto = getattr(element, type_)
            if proto.label == label and (key is None or key in proto.id):
                found.append(element)
        return found

    def widget(self, label: str, kind: str | None = None, *, key: str | None = None, index: int = 0):
        """The ``index``-th widget labelled ``label``: its Element. PageError if there is none."""
        found = self.widgets(label, kind, key=key)
        if len(found) <= index:
            raise PageError(
                f"no widget {label!r}{f' ({kind})' if kind else ''} #{index} on the page; its widgets: "
                f"{sorted({getattr(e, e.WhichOneof('type')).label for e in self.elements() if e.WhichOneof('type') in WIDGET_TYPES})}"
            )
        return found[index]

    # -- what a user does -------------------------------------------------------------------

    def goto(self, title: str, *, timeout_s: float = 60.0) -> float:
        """Open the page titled ``title`` in the navigation, as a click on its link does."""
        if title not in self.pages:
            raise PageError(f"no page {title!r} in the navigation; pages: {sorted(self.pages)}")
        target = self.pages[title]

        def send() -> None:
            with self._changed:
                self._timers.clear()  # the frontend's cleanupAutoReruns
                # clearPageElements: only what the main script (app.py) drew stays
                self.tree = {p: n for p, n in self.tree.items() if n.script_hash == self.main_script_hash}
                main_ids = {_widget_id(n.element) for n in self.tree.values() if n.element is not None}
            self._send_rerun(page_hash=target, query_string="", only=main_ids)

        return self._timed_run(send, timeout_s=timeout_s)

    def set(
        self,
        label: str,
        value,
        kind: str | None = None,
        *,
        key: str | None = None,
        index: int = 0,
        timeout_s: float = 60.0,
    ) -> float:
        """Give the widget ``label`` a new ``value`` and wait for the run that follows."""
        state = widget_state(self.widget(label, kind, key=key, index=index), value)
        self._values[state.id] = state
        return self._timed_run(self._send_rerun, timeout_s=timeout_s)

    def click(self, label: str, *, key: str | None = None, index: int = 0, timeout_s: float = 60.0) -> float:
        """Press the button ``label`` and wait for the run that follows."""
        element = self.widget(label, "button", key=key, index=index)
        if element.button.disabled:
            raise PageError(f"the button {label!r} is disabled")
        trigger = WidgetState(id=element.button.id, trigger_value=True)
        return self._timed_run(lambda: self._send_rerun(triggers=[trigger]), timeout_s=timeout_s)

    def wait_for(
        self,
        condition: Callable[[], bool],
        what: str,
        *,
        timeout_s: float = 120.0,
        on_run: Callable[[], None] | None = None,
    ) -> float:
        """Wait until ``condition()`` holds after a run finished; return when that was
        (``time.perf_counter``). ``on_run`` is called after each finished run, before the check."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            self._check_page()
            if self.runs and condition():
                return self.runs[-1].finished_at
            seen = len(self.runs)
            while True:
                for run in self.runs[seen:]:  # a run cut short by the next one counts: it drew
                    seen += 1
                    self._check_page()
                    if on_run:
                        on_run()
                    if condition():
                        return run.finished_at
                self._check_alive(what)
                if time.monotonic() > deadline:
                    raise PageError(f"{what}: not after {timeout_s:.0f} s; the page shows {self._summary()}")
                self._changed.wait(0.5)

    # -- internals --------------------------------------------------------------------------

    def _timed_run(self, send: Callable[[], None], *, timeout_s: float) -> float:
        """Send a rerun and wait for the next full run to finish; the seconds in between."""
        with self._changed:
            before = len(self.runs)
        started = time.perf_counter()
        send()
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                full = [r for r in self.runs[before:] if r.status == FINISHED.FINISHED_SUCCESSFULLY]
                if full:
                    self._check_page()
                    return full[0].finished_at - started
                self._check_alive("the page's run")
                if time.monotonic() > deadline:
                    raise PageError(f"a run did not finish within {timeout_s:.0f} s")
                self._changed.wait(0.5)

    def _check_alive(self, what: str) -> None:
        if self._closed:
            raise PageError(f"{what}: the connection is closed ({self._closed})")
        silent = time.monotonic() - self._last_heard
        if silent > self.silence_s:
            raise PageError(f"{what}: the server said nothing for {silent:.0f} s; {self.trail_text()}")

    def _check_page(self) -> None:
        errors = self.exceptions()
        if errors:
            raise PageError(f"exception on the page: {errors[0][:300]}")

    def trail_text(self, last: int = 12) -> str:
        """The last messages sent and received, seconds before now: what led to a failure."""
        now = time.monotonic()
        return "last messages: " + ", ".join(
            f"-{now - t:.1f}s {what}" for t, what in list(self.trail)[-last:]
        )

    def _summary(self) -> str:
        return repr([t[:80] for t in self.texts()][:12])

    def _send_rerun(
        self,
        *,
        page_hash: str | None = None,
        query_string: str | None = None,
        page_name: str = "",
        triggers=(),
        fragment_id: str = "",
        auto: bool = False,
        only: set[str] | None = None,
    ) -> None:
        state = ClientState(
            query_string=self.query_string if query_string is None else query_string,
            page_script_hash=self.page_hash if page_hash is None else page_hash,
            page_name=page_name if not (self.page_hash or page_hash) else "",
            fragment_id=fragment_id,
            is_auto_rerun=auto,
        )
        values = [v for v in self._values.values() if only is None or v.id in only]
        state.widget_states.widgets.extend([*values, *triggers])
        context = state.context_info
        context.timezone, context.timezone_offset, context.locale = "UTC", 0, "en-US"
        context.url, context.is_embedded, context.color_scheme = f"{self.url}/{self._path}", False, "light"
        message = BackMsg()
        message.rerun_script.CopyFrom(state)
        self.trail.append((time.monotonic(), f"sent rerun{' of fragment' if fragment_id else ''}"))
        if self._ws is None:
            raise PageError("not connected")
        try:
            self._ws.send_binary(message.SerializeToString())
        except (OSError, websocket.WebSocketException) as err:
            self._closed = self._closed or f"send failed: {err}"
            raise PageError(f"the connection is closed ({err})") from None

    def _read(self) -> None:
        while not self._closed:
            try:
                opcode, data = self._ws.recv_data()
            except (OSError, websocket.WebSocketException) as err:
                self._closed = self._closed or f"{type(err).__name__}: {err}"
                break
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self._closed = self._closed or "the server closed the websocket"
                break
            if opcode != websocket.ABNF.OPCODE_BINARY:
                continue
            message = ForwardMsg()
            message.ParseFromString(data)
            with self._changed:
                self._last_heard = time.monotonic()
                self.messages += 1
                self._handle(message)
                self._changed.notify_all()
            if self.on_message:
                self.on_message(message)
        with self._changed:
            self._changed.notify_all()

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind != "delta":
            status = f" {FINISHED.Name(msg.script_finished)}" if kind == "script_finished" else ""
            fragment = " (fragment)" if msg.metadata.run.fragment_ids else ""
            self.trail.append((time.monotonic(), f"got {kind}{status}{fragment}"))
        if kind == "new_session":
            self._run_id = msg.metadata.run.script_run_id
            self._fragment_ids = tuple(msg.metadata.run.fragment_ids)
            session = msg.new_session
            self.main_script_hash = session.main_script_hash
            self.page_hash = session.page_script_hash
            self._set_pages(session.app_pages)
            if not self._fragment_ids:
                self._timers.clear()  # a full run: the frontend's cleanupAutoReruns
        elif kind == "navigation":
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
            self._set_pages(msg.navigation.app_pages)
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "delta":
            self._apply_delta(msg)
        elif kind == "auto_rerun":
            interval, fragment = msg.auto_rerun.interval, msg.auto_rerun.fragment_id
            if fragment and self._timers.get(fragment, (None,))[0] != interval:
                self._timers[fragment] = (interval, time.monotonic() + interval)
        elif kind == "stop_auto_rerun":
            for fragment in msg.stop_auto_rerun.fragment_ids:
                self._timers.pop(fragment, None)
        elif kind == "script_finished":
            status = msg.script_finished
            fragments = tuple(msg.metadata.run.fragment_ids)
            if status == FINISHED.FINISHED_SUCCESSFULLY:
                self.tree = {p: n for p, n in self.tree.items() if n.run_id == self._run_id}
                active = {_widget_id(n.element) for n in self.tree.values() if n.element is not None}
                self._values = {k: v for k, v in self._values.items() if k in active}
            elif status == FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                self.tree = {
                    p: n
                    for p, n in self.tree.items()
                    if n.run_id == self._run_id or n.fragment_id not in fragments
                }
            self.runs.append(Run(status, fragments, time.perf_counter()))
        elif kind == "ref_hash":  # never asked for (no cached hashes are claimed): a protocol change
            self._closed = f"the server sent a cached-message reference {msg.ref_hash}"

    def _set_pages(self, app_pages) -> None:
        if app_pages:
            self.pages = {p.page_name: p.page_script_hash for p in app_pages}

    def _apply_delta(self, msg: ForwardMsg) -> None:
        path = tuple(msg.metadata.delta_path)
        delta = msg.delta
        node = Node(None, self._run_id, delta.fragment_id, msg.metadata.active_script_hash)
        if delta.WhichOneof("type") == "new_element":
            node.element = delta.new_element
            # an element replaces whatever was there, a block with its children included
            for other in [p for p in self.tree if p[: len(path)] == path and len(p) > len(path)]:
                del self.tree[other]
            widget = _widget_id(node.element)
            kind = node.element.WhichOneof("type")
            if widget and getattr(getattr(node.element, kind), "set_value", False):
                self._values.pop(widget, None)  # the script set the value: it wins over the user's
        elif delta.WhichOneof("type") != "add_block":
            return  # transient elements (toasts) are not kept
        self.tree[path] = node

    def _tick(self) -> None:
        """The frontend's setInterval per ``run_every`` fragment."""
        while not self._closed:
            time.sleep(0.05)
            now = time.monotonic()
            due = []
            with self._changed:
                for fragment, (interval, tick) in list(self._timers.items()):
                    if now >= tick:
                        self._timers[fragment] = (interval, tick + interval)
                        due.append(fragment)
            for fragment in due:
                try:
                    self._send_rerun(fragment_id=fragment, auto=True)
                except PageError:
                    return


def _widget_id(element: Element | None) -> str:
    if element is None:
        return ""
    kind = element.WhichOneof("type")
    return getattr(getattr(element, kind), "id", "") if kind in WIDGET_TYPES else ""


def widget_state(element: Element, value) -> WidgetState:
    """The WidgetState the frontend sends when a user gives the widget ``element`` the ``value``."""
    kind = element.WhichOneof("type")
    proto = getattr(element, kind)
    state = WidgetState(id=proto.id)
    if kind in ("selectbox", "radio"):
        if value not in proto.options:
            raise PageError(f"{value!r} is not an option of {proto.label!r}: {list(proto.options)}")
        state.string_value = value
    elif kind == "number_input":
        if proto.data_type == NumberInput.INT:
            state.int_value = int(value)
        else:
            state.double_value = float(value)
    elif kind == "slider" and proto.type == Slider.SELECT_SLIDER:  # the options as shown
        values = [str(v) for v in (value if isinstance(value, list | tuple) else [value])]
        if not set(values) <= set(proto.options):
            raise PageError(f"{value!r} is not an option of {proto.label!r}: {list(proto.options)}")
        state.string_array_value.data.extend(values)
    elif kind == "slider":
        state.double_array_value.data.extend(value if isinstance(value, list | tuple) else [value])
    elif kind == "checkbox":
        state.bool_value = bool(value)
    elif kind in ("text_input", "text_area"):
        state.string_value = str(value)
    elif kind == "multiselect":
        state.string_array_value.data.extend(value)
    else:
        raise PageError(f"setting a {kind} is not supported by this client")
    return state


def think(low: float = 1.0, high: float = 3.0) -> None:
    """A user's pause between two steps."""
    time.sleep(random.uniform(low, high))
