"""The load test without a browser: simulated students over Streamlit's websocket protocol (``protocol``),
driven by Locust (``locustfile``), started and summarised by ``python -m tests.load``; ``browser`` is the
small real-browser run beside it."""

# Request names whose timings are not "interactions": a training run, and its wait for a slot.
TRAINING = "Train: click → Done"
QUEUE_WAIT = "Train: queue wait"
