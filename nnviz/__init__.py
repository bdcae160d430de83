"""nnviz: a visual explorer for real Keras neural networks.

The engine (everything outside ``nnviz.ui``) is plain Python over Keras, numpy, scikit-learn and
plotly; it never imports streamlit, so it can be tested and benchmarked on its own.
"""
