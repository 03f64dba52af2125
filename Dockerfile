# PruneScope dashboard + backend, CPU build.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false \
    PRUNESCOPE_RUNS_DIR=/data/runs
WORKDIR /app

RUN apt-get update && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt ./
# The CPU wheel of torch from PyTorch's index (the default PyPI wheel pulls CUDA libraries).
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && pip install -r requirements.txt

COPY prune_core ./prune_core
COPY app ./app
COPY pyproject.toml README.md ./
# The package itself, for the prunescope console command (dependencies are installed above).
RUN pip install --no-deps .

VOLUME ["/data"]
EXPOSE 8501
# Mount a dataset folder and set PRUNESCOPE_DEMO_DATA to have a demo run computed on first start.
CMD ["prunescope", "serve", "--port", "8501", "--address", "0.0.0.0"]
