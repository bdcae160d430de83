"""The Streamlit side of nnviz: session-state schema, cached data and widgets. Only this package imports streamlit."""
