"""Inspect's "One step backwards": the loss's gradient to every weight, numpy beside GradientTape, then the update."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from nnviz.data.datasets import Dataset
from nnviz.explain.backprop import (
    Backward,
    BackwardStep,
    OptimizerStep,
    backward_pass,
    optimizer_step,
    worked_gradient,
)
from nnviz.model.build import build_model
from nnviz.model.spec import ModelSpec
from nnviz.training.engine import epoch_order, training_rows
from nnviz.training.twins import copy_state
from nnviz.ui import replay, state
from nnviz.ui.inspect_view import verdict
from nnviz.ui.state import Workspace
from nnviz.ui.widgets import plain
from nnviz.views import figures
from nnviz.views.words import plural

THIS_SAMPLE = "This sample"
_WEIGHT_ROWS = 200  # weights listed one by one for the tensor followed
BATCH = "training batch"


def _batch_rows(ws: Workspace, dataset: Dataset) -> np.ndarray:
    """The rows of the batch the next training step takes: in the next epoch's order of the training
    rows (the validation rows held out), from where a paused epoch stopped."""
    session = st.session_state
    batch_size = session[state.BATCH_SIZE]
    n_train = training_rows(len(dataset.X_train), session[state.VALIDATION_SPLIT])
    paused_at = ws.job.trainer.step if ws.job is not None and ws.job.trainer.model is ws.model else 0
    order = epoch_order(n_train, seed=session[state.SEED], epoch=len(ws.history))
    return order[paused_at * batch_size : (paused_at + 1) * batch_size]


def _computed(
    ws: Workspace, spec: ModelSpec, X: np.ndarray, y: np.ndarray
) -> tuple[Backward, OptimizerStep, object]:
    """The backward pass and one optimizer step for ``(X, y)``, once per model state and batch."""
    key = ("backward", id(ws.model), len(ws.history), ws.hand_steps, X.tobytes(), y.tobytes())

    def compute():
        backward = backward_pass(ws.model, X, y, spec.loss)
        twin = build_model(spec)
        return backward, optimizer_step(ws.model, twin, X, y, backward.tape_weight_gradients), twin

    return replay.cached(ws, key, compute)


def _apply(ws: Workspace, twin) -> None:
    copy_state(twin, ws.model)
    ws.hand_steps += 1
    ws.views.clear()  # every view of the model drawn so far shows the weights before the step


def show_backward(
    ws: Workspace,
    spec: ModelSpec,
    dataset: Dataset,
    x: np.ndarray,
    truth: float,
    *,
    label_is_the_answer: bool = False,
) -> None:
    """The whole section, for the sample ``x`` with its label ``truth`` (or the next training batch).

    ``label_is_the_answer``: ``x`` has no label of its own (a drawn digit) and ``truth`` is the class
    the network gave it, so the gradients show what made it that class.
    """
    st.subheader("One step backwards: from the loss to every weight")
    if label_is_the_answer:
        st.caption(
            f"A drawing has no true label: here the network's own answer, {plain(dataset.class_names[int(truth)])}, "
            "is taken as the label. The map of ∂L/∂(pixels) below then shows which pixels made it that answer: "
            "ink on the blue pixels made the network surer of it, ink on the red ones less sure."
        )
    batch_size = st.session_state[state.BATCH_SIZE]
    choice = st.radio(
        "Gradient of the loss over",
        (THIS_SAMPLE, f"The next {BATCH} ({plural(batch_size, 'row')})"),
        horizontal=True,
        key="inspect.backward.over",
    )
    if choice == THIS_SAMPLE:
        X, y = np.asarray(x, dtype=np.float32)[None], np.asarray([truth], dtype=np.float32)
    else:
        rows = _batch_rows(ws, dataset)
        X, y = dataset.X_train[rows].astype(np.float32), dataset.y_train[rows].astype(np.float32)
    modes = [layer.kind for layer in spec.layers if layer.kind in ("Dropout", "BatchNormalization")]
    st.caption(
        "What one training step computes: the gradient of the compiled loss (the mean over the "
        f"{plural(len(X), 'row')}) with respect to every weight, layer by layer from the output back, in numpy "
        "beside tf.GradientTape on the same model and loss. Each layer starts from the tape's gradient at "
        "its output, so each verdict is about that layer alone. In inference mode, as the forward pass above"
        + (
            f": fit's own step would also apply dropout's random mask and batch normalisation's batch statistics ({', '.join(sorted(set(modes)))} here)."
            if modes
            else " (this network has no dropout or batch normalisation, so it is exactly fit's step)."
        )
    )
    backward, step, twin = _computed(ws, spec, X, y)
    if not backward.finite:
        st.warning(
            f"The loss of {'this sample' if len(X) == 1 else 'these rows'} is {backward.loss:g} and its gradients are "
            "not all finite numbers: the values overflow float32 on the way. Pick a row from the data, or type "
            "smaller values.",
            icon=":material/warning:",
        )
        return
    _output_gradient(backward)
    for layer_step in backward.layers:
        _layer(layer_step, spec.layers[layer_step.index].label())
    if dataset.is_image:
        st.markdown("**∂L/∂(input pixels): which pixels pushed the loss up (red) or down (blue)**")
        saliency = backward.input_gradient[0].reshape(dataset.input_shape[:2])
        st.plotly_chart(figures.gradient_map_figure(saliency), key="inspect.backward.saliency")
    _update(ws, step, twin, rows=len(X))


def _output_gradient(backward: Backward) -> None:
    out = backward.output_gradient
    st.markdown(f"**The loss's own gradient**: `{backward.output_rule}`")
    # One line per row and output (a long table, not a wide one: ten classes would not fit across).
    values = out.numpy.reshape(len(out.numpy), -1)
    rows, outputs = np.indices(values.shape)
    table = pd.DataFrame(
        {"row": rows.ravel(), "output": outputs.ravel(), f"{out.name} (numpy)": values.ravel()}
    )
    if out.tape is not None:
        table[f"{out.name} (GradientTape)"] = out.tape.reshape(values.shape).ravel()
    st.dataframe(
        table.head(_WEIGHT_ROWS),
        width="content",
        hide_index=True,
        column_config={c: st.column_config.NumberColumn(format="%.6f") for c in table.columns[2:]},
    )
    if out.tape is None:
        st.caption(
            "The compiled loss reads this softmax or sigmoid output through its logits z, so the tape has no "
            "gradient at the output itself: this ∂L/∂z is checked through the last layer's ∂L/∂W and ∂L/∂b below."
        )


def _layer(step: BackwardStep, label: str) -> None:
    with st.container(border=True):
        st.markdown(f"### Layer {step.index + 1} · {plain(label)} · backwards")
        st.caption(step.explanation)
        st.code("\n".join(s.label for s in step.steps), language="python", wrap_lines=True)
        dW = step.gradient("∂L/∂W")
        if dW is not None and step.kind == "Dense":
            row, column = np.unravel_index(int(np.abs(dW.numpy).argmax()), dW.numpy.shape)
            st.caption(f"The largest entry, worked out: {worked_gradient(step, int(row), int(column))}")
            db = step.gradient("∂L/∂b")
            weights_col, gradient_col = st.columns(2)
            weights_col.plotly_chart(
                figures.weights_figure(*step.weights, title="W and b now"),
                key=f"inspect.backward.w.{step.index}",
            )
            gradient_col.plotly_chart(
                figures.weights_figure(dW.numpy, None if db is None else db.numpy, title="∂L/∂W and ∂L/∂b"),
                key=f"inspect.backward.grad.{step.index}",
            )
            st.caption(
                "Blue is positive, red negative. Each weight moves against its gradient: a blue gradient "
                "makes its weight smaller, a red one larger."
            )
        elif dW is not None and step.kind == "Conv2D":
            kernel_col, gradient_col = st.columns(2)
            kernel_col.markdown("**The kernel now**, a small map per filter and input channel")
            kernel_col.plotly_chart(
                figures.kernels_figure(step.weights[0]), key=f"inspect.backward.w.{step.index}"
            )
            gradient_col.markdown("**∂L/∂kernel**, on the same layout")
            gradient_col.plotly_chart(
                figures.kernels_figure(dW.numpy), key=f"inspect.backward.grad.{step.index}"
            )
        rows = [
            {
                "gradient": g.name,
                "shape": str(g.numpy.shape),
                "largest |numpy|": float(np.abs(g.numpy).max(initial=0.0)),
                "max |numpy − GradientTape|": g.max_abs_diff,
            }
            for g in step.gradients
        ]
        st.dataframe(
            pd.DataFrame(rows).set_index("gradient"),
            column_config={
                "largest |numpy|": st.column_config.NumberColumn(format="%.3e"),
                "max |numpy − GradientTape|": st.column_config.NumberColumn(format="%.1e"),
            },
        )
        worst = max((g.max_abs_diff or 0.0) for g in step.gradients)
        sizes = "; ".join(f"{g.name}: {g.rule}" for g in step.gradients)
        verdict(
            f"max |numpy − GradientTape| = {worst:.1e}; float32 rounding allows 1e-5 × (the largest "
            f"upstream gradient + the absolute terms summed into each value: {sizes}): ",
            step.agrees,
            ("they agree", "they differ"),
        )


def _update(ws: Workspace, step: OptimizerStep, twin, *, rows: int) -> None:
    st.subheader(f"Then the update: {step.optimizer}, step {step.step_number}")
    st.caption(
        "The model's own optimizer with its current state (its step count, and Adam's or RMSprop's running "
        "averages), applied once to the gradients above: in numpy, and by Keras on a copy of the model. "
        "Your model does not change unless you apply the step."
    )
    st.code(step.rule, language="python", wrap_lines=True)
    if step.optimizer == "Adam" and step.step_number == 1:
        st.caption(
            "At step 1, m / √v is ±1 for every weight: Adam's first step moves each weight by about η."
        )
    table_rows = [
        {
            "weights": name.split("/", 1)[-1],
            "shape": str(before.shape),
            "largest |step| (numpy)": float(np.abs(after - before).max(initial=0.0)),
            "max |numpy − Keras|": float(np.abs(after - keras_after).max(initial=0.0)),
        }
        for name, before, after, keras_after in zip(
            step.names, step.before, step.numpy_after, step.keras_after
        )
    ]
    st.dataframe(
        pd.DataFrame(table_rows).set_index("weights"),
        column_config={
            "largest |step| (numpy)": st.column_config.NumberColumn(format="%.3e"),
            "max |numpy − Keras|": st.column_config.NumberColumn(format="%.1e"),
        },
    )
    names = [name.split("/", 1)[-1] for name in step.names]
    shown = st.selectbox("Follow every weight of", names, key="inspect.backward.weights")
    k = names.index(shown)
    values = pd.DataFrame(
        {
            "before": step.before[k].ravel(),
            "gradient g": step.gradients[k].ravel(),
            "after (numpy)": step.numpy_after[k].ravel(),
            "after (Keras)": step.keras_after[k].ravel(),
            "|numpy − Keras|": np.abs(step.numpy_after[k] - step.keras_after[k]).ravel(),
        },
        index=[str(i) for i in np.ndindex(step.before[k].shape)],
    ).rename_axis("index")
    st.dataframe(
        values.head(_WEIGHT_ROWS),
        column_config={
            **{c: st.column_config.NumberColumn(format="%.6f") for c in values.columns},
            "|numpy − Keras|": st.column_config.NumberColumn(format="%.1e"),
        },
    )
    if len(values) > _WEIGHT_ROWS:
        st.caption(f"The first {_WEIGHT_ROWS} of {len(values):,} weights.")
    verdict(
        f"weights after the step, max |numpy − Keras| = {step.max_abs_diff():.1e} "
        "(float32 rounding allows 1e-5 of the weight and its step): ",
        step.agrees,
        ("they agree", "they differ"),
    )
    change = step.loss_after - step.loss_before
    went = "went down" if change < 0 else "went up"
    st.markdown(
        f"**Loss of {'this sample' if rows == 1 else f'these {rows} rows'}: "
        f"{step.loss_before:.6f} → {step.loss_after:.6f}**: it {went} by {abs(change):.6f}."
    )
    if ws.hand_steps:
        st.caption(
            f"{plural(ws.hand_steps, 'step')} applied by hand so far; the training history does not count them."
        )
    st.button(
        "Apply this step to my model",
        key="inspect.backward.apply",
        on_click=_apply,
        args=(ws, twin),
        icon=":material/south:",
        help="Keep the weights after this one step, as if fit had taken it.",
    )
