# nnviz as one container for a whole class:
#   docker build -t nnviz .   then   docker run -p 8501:8501 nnviz
# BASE can be swapped for a local image where no registry is reachable (see tests/container.sh).
ARG BASE=python:3.11-slim
FROM ${BASE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    # Datasets downloaded at build time live here, readable by the app's user.
    KERAS_HOME=/opt/nnviz-data/keras \
    SCIKIT_LEARN_DATA=/opt/nnviz-data/scikit_learn \
    # A shared CPU: each training uses a few threads, so several students can train at once.
    TF_NUM_INTRAOP_THREADS=2 \
    TF_NUM_INTEROP_THREADS=1 \
    OMP_NUM_THREADS=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    NNVIZ_MAX_TRAININGS=2 \
    STREAMLIT_SERVER_PORT=8501

RUN python3 -m venv /opt/venv
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

# MNIST and California housing, fetched once so the running container needs no network. A build
# without network still succeeds: the app then shows its offline stand-ins and says so.
RUN mkdir -p "$KERAS_HOME" "$SCIKIT_LEARN_DATA" \
 && (python -c "import keras; keras.datasets.mnist.load_data()" \
     || echo "nnviz: no MNIST download; the image will use the 5,000-image offline subset") \
 && (python -c "import sklearn.datasets as d; d.fetch_california_housing(n_retries=1)" \
     || echo "nnviz: no California housing download; the image will use the offline stand-in") \
 && chmod -R a+rX /opt/nnviz-data

COPY app.py ./
COPY .streamlit .streamlit
COPY nnviz nnviz
COPY pages pages
COPY lessons lessons

RUN useradd --create-home --uid 10001 nnviz
USER nnviz
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['STREAMLIT_SERVER_PORT']}/_stcore/health\", timeout=4)"]
# The port comes from STREAMLIT_SERVER_PORT (8501 unless the run sets another).
ENTRYPOINT ["streamlit", "run", "app.py", "--server.address=0.0.0.0"]
