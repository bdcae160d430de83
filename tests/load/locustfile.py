"""Locust users for nnviz: each one walks the teaching loop once over Streamlit's own protocol.

    locust -f tests/load/locustfile.py --headless -u 30 -r 3 --host http://127.0.0.1:8501

(``python -m tests.load`` starts a server, runs this and summarises; see ``tests/load/__main__.py``.)

A user: opens the app → Data (odd users pick iris, even users change the moons' noise) → Build
(adds a layer, changes the first layer's units to one of ten values, or to its own with
``--distinct-networks``) → every ``--trainer-every``-th user trains
``--epochs`` epochs on the Train page and watches the live view until "Done" → Inspect (a
prediction is shown), with 1–3 s of thought between steps. Each step is a Locust request named
after it, timed from sending the ``rerun_script`` to the run's ``script_finished``; training is
timed from the click to the page saying "Done", and its wait for a free slot separately. A step
fails on an exception element, a page without what it should show, a closed socket or 60 s of
silence; the user's scenario stops at its first failure. When every user has finished, the run
ends, and the raw timings go to ``--samples-file`` (JSON) for the summary.
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import gevent
from locust import User, constant, events, task
from locust.exception import StopUser

from tests.load import QUEUE_WAIT, TRAINING
from tests.load.protocol import PageError, StreamlitClient, think

SAMPLES: dict[str, list[float]] = {}
FAILURES: list[str] = []
COMPLETED: list[int] = []  # the users whose whole scenario passed
_numbers = itertools.count()
_finished = itertools.count(1)


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    parser.add_argument("--trainer-every", type=int, default=5, help="every k-th user trains (0: none)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs a training user runs")
    parser.add_argument(
        "--distinct-networks",
        action="store_true",
        help="user n sets 10 + n // 5 units: no two training users share an architecture",
    )
    parser.add_argument("--think-s", type=float, nargs=2, default=(1.0, 3.0), help="pause between steps")
    parser.add_argument("--samples-file", default="", help="where the raw timings go (JSON)")


@events.quitting.add_listener
def _write_samples(environment, **_) -> None:
    path = environment.parsed_options.samples_file if environment.parsed_options else ""
    if path:
        Path(path).write_text(json.dumps({"samples": SAMPLES, "failures": FAILURES, "completed": COMPLETED}))


_ENDED_OTHERWISE = ("Paused", "Stopped", "Training failed", "The loss became")


def _done(c: StreamlitClient, epochs: int) -> bool:
    """Whether the run reached "Done"; PageError if it ended otherwise (nobody clicked Pause or Stop)."""
    if c.shows(f"Done: {epochs} epochs in"):
        return True
    for element in c.elements("alert"):
        if element.alert.body.startswith(_ENDED_OTHERWISE):
            raise PageError(f"the run ended without Done: {element.alert.body[:200]!r}")
    return False


class NnvizUser(User):
    """One student: a browser tab, simulated by :class:`StreamlitClient`."""

    wait_time = constant(0)

    def on_start(self) -> None:
        self.number = next(_numbers)
        options = self.environment.parsed_options
        self.trainer_every = options.trainer_every if options else 5
        self.epochs = options.epochs if options else 20
        self.think_s = tuple(options.think_s) if options else (1.0, 3.0)
        self.distinct = bool(options and options.distinct_networks)

    def _record(self, name: str, seconds: float, error: BaseException | None = None) -> None:
        self.environment.events.request.fire(
            request_type="WS",
            name=name,
            response_time=seconds * 1000,
            response_length=0,
            exception=error,
            context={"user": self.number},
        )
        if error is None:
            SAMPLES.setdefault(name, []).append(seconds)

    def _step(self, name: str, action, check=None, what: str = "") -> None:
        """Do ``action`` (returns its seconds), check the page, record the step; think."""
        started = time.perf_counter()
        try:
            seconds = action()
            if check is not None and not check():
                raise PageError(f"{name}: the page does not show {what}")
        except Exception as err:
            self._record(name, time.perf_counter() - started, err)
            FAILURES.append(f"user {self.number}, {name}: {type(err).__name__}: {err}"[:400])
            raise
        self._record(name, seconds)
        think(*self.think_s)

    @task
    def scenario(self) -> None:
        client = StreamlitClient(self.host)
        try:
            self._walk(client)
            COMPLETED.append(self.number)
        except Exception:  # noqa: BLE001 - recorded as the failed step; this user stops there
            pass
        finally:
            client.close()
            if next(_finished) >= (self.environment.runner.target_user_count or 0):
                gevent.spawn_later(1.0, self.environment.runner.quit)  # everyone has finished
        raise StopUser()

    def _walk(self, c: StreamlitClient) -> None:
        n = self.number
        self._step("open the app", c.connect, lambda: c.shows("nnviz"), "its title")
        self._step("page: Data", lambda: c.goto("1 · Data"), lambda: c.widgets("Dataset"), "the dataset box")
        if n % 2:
            iris = c.widget("Dataset").selectbox.options[1]
            self._step(
                "Data: pick a dataset",
                lambda: c.set("Dataset", iris),
                lambda: c.shows("Task: 3 classes"),
                "iris's 3 classes",
            )
        else:
            noise = round(0.05 + 0.01 * (n % 20), 2)
            self._step(
                "Data: change the noise",
                lambda: c.set("Noise", noise),
                lambda: c.shows(f"noise {noise:g}"),
                f"noise {noise:g}",
            )
        self._step("page: Build", lambda: c.goto("2 · Build"), lambda: c.shows("Ready to train."), "ready")
        layers = len(c.widgets("Layer type")) + len(c.widgets("Output layer"))
        self._step(
            "Build: add a layer",
            lambda: c.click("Add layer"),
            lambda: len(c.widgets("Layer type")) + len(c.widgets("Output layer")) == layers + 1,
            f"{layers + 1} layers",
        )
        # A class mostly builds the networks it is told to (ten variants here); --distinct-networks
        # gives everyone their own, so that no two runs share a compiled step.
        units = 10 + n // 5 if self.distinct else 10 + n % 10
        self._step(
            "Build: change units",
            lambda: c.set("Units", units),
            lambda: c.shows(f"units={units}"),
            "the units",
        )
        if self.trainer_every and n % self.trainer_every == 0:
            self._train(c)
        self._step(
            "page: Inspect", lambda: c.goto("5 · Inspect"), lambda: c.shows("Prediction:"), "a prediction"
        )

    def _train(self, c: StreamlitClient) -> None:
        epochs = self.epochs
        self._step("page: Train", lambda: c.goto("3 · Train"), lambda: c.widgets("Train", "button"), "Train")
        self._step("Train: epochs", lambda: c.set("Epochs", epochs), lambda: c.widgets("Epochs"), "Epochs")
        started = time.perf_counter()
        slot: list[float] = []

        def note_queue() -> None:
            if not slot and not c.shows("Waiting for a free training slot"):
                slot.append(time.perf_counter())

        try:
            c.click("Train", timeout_s=120)
            note_queue()
            done = c.wait_for(
                lambda: _done(c, epochs),
                "training to Done",
                timeout_s=900,
                on_run=note_queue,
            )
        except Exception as err:
            self._record(TRAINING, time.perf_counter() - started, err)
            FAILURES.append(f"user {self.number}, {TRAINING}: {type(err).__name__}: {err}"[:1500])
            raise
        self._record(QUEUE_WAIT, (slot[0] if slot else done) - started)
        self._record(TRAINING, done - started)
        think(*self.think_s)
