"""Step 4: how good is the model on the test rows — confusion, mistakes, per-class scores, residuals."""

import numpy as np
import pandas as pd
import streamlit as st

from nnviz.ui.page import trainable_spec, workspace_page
from nnviz.ui.runtime import run_through_the_router
from nnviz.ui.widgets import plain
from nnviz.views import figures
from nnviz.views.words import plural

run_through_the_router()

dataset, ws = workspace_page("Evaluate on the test set")
spec = trainable_spec(ws, dataset)

with st.spinner("Starting Keras…"):
    from nnviz.explain.evaluate import classification_report, regression_report
    from nnviz.explain.predict import class_probabilities
    from nnviz.ui.evaluation import test_outputs
    from nnviz.ui.training import model_at_rest

model_at_rest(
    ws,
    spec,
    why_paused="to evaluate one fixed set of weights",
    untrained="This model has not been trained yet: these are the scores of random weights.",
)

X, y = dataset.X_test, dataset.y_test
st.caption(
    f"{len(X):,} test rows of {plain(dataset.title)} that training never saw, after {plural(len(ws.history), 'epoch')}."
)
outputs = test_outputs(ws, dataset, spec)  # once per set of weights, in the training queue's turn

if not dataset.class_names:
    report = regression_report(outputs, y)
    r2_col, rmse_col, mae_col = st.columns(3)
    r2_col.metric(
        "R²",
        f"{report.r2:.3f}",
        help="1 − Σ residual² / Σ (y − mean y)²: 1 is perfect, 0 is no better than the mean.",
    )
    rmse_col.metric("RMSE", f"{report.rmse:.4g}", help="√(mean residual²), in the target's units.")
    mae_col.metric("MAE", f"{report.mae:.4g}", help="mean |residual|, in the target's units.")
    residual_col, fit_col = st.columns(2)
    residual_col.plotly_chart(
        figures.residuals_figure(outputs[:, 0], report.residuals, target_name=dataset.target_name),
        key="residuals",
    )
    fit_col.plotly_chart(
        figures.predicted_vs_actual_figure(y, outputs[:, 0], target_name=dataset.target_name), key="fit"
    )
    st.stop()

report = classification_report(class_probabilities(outputs, spec.loss), y)
names = list(dataset.class_names)
accuracy_col, wrong_col, rows_col = st.columns(3)
accuracy_col.metric("Accuracy", f"{report.accuracy:.1%}")
wrong_col.metric("Misclassified", f"{len(report.wrong):,}")
rows_col.metric("Test rows", f"{len(X):,}")

matrix_col, scores_col = st.columns([5, 6], gap="medium")
with matrix_col:
    st.subheader("Confusion matrix")
    st.plotly_chart(figures.confusion_figure(report.confusion, names), key="confusion")
with scores_col:
    st.subheader("Per class")
    st.dataframe(
        pd.DataFrame(
            {
                "precision": report.precision,
                "recall": report.recall,
                "F1": report.f1,
                "rows": report.support,
            },
            index=pd.Index(names, name=dataset.target_name),
        ),
        column_config={  # widths that fit beside the confusion matrix, also on a 1280-pixel screen
            "_index": st.column_config.TextColumn(width=100),
            "rows": st.column_config.NumberColumn(width=50),
            **{
                name: st.column_config.ProgressColumn(format="%.2f", min_value=0, max_value=1, width=75)
                for name in ("precision", "recall", "F1")
            },
        },
    )
    st.caption(
        "Precision: of the rows predicted as this class, the share that are. Recall: of the rows of "
        "this class, the share found. F1: their harmonic mean."
    )

st.subheader("The mistakes, most confident first")
if not len(report.wrong):
    st.success("No test row is misclassified.", icon=":material/celebration:")
    st.stop()
shown = report.wrong[:24]
labels = [f"{names[y[k]]} → {names[report.predicted[k]]} ({report.confidence[k]:.0%})" for k in shown]
if dataset.is_image:
    st.plotly_chart(figures.digit_grid_figure(np.asarray(X[shown]), labels), key="mistakes")
    st.caption("Each image: true → predicted (the probability the model gave its wrong answer).")
else:
    table = pd.DataFrame(
        np.asarray(X[shown]), columns=list(dataset.feature_names), index=pd.Index(shown, name="test row")
    )
    table["true"] = [names[y[k]] for k in shown]
    table["predicted"] = [names[report.predicted[k]] for k in shown]
    table["confidence"] = report.confidence[shown]
    st.dataframe(table, column_config={"confidence": st.column_config.NumberColumn(format="%.2f")})
st.page_link(
    "pages/inspect.py", label="Follow a misclassified row through the network", icon=":material/biotech:"
)
