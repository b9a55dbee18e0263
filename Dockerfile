# syntax=docker/dockerfile:1
# The pitchcast image: the Faust worker by default, any other `pitchcast` command as
# arguments (`docker run --rm pitchcast replay data/events_metrica_1.csv --speed 10`).
# Used by docker-compose.yml; build with `docker build -t pitchcast .`.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 pitchcast
WORKDIR /app

# Dependencies first, from pyproject.toml and an empty package, so that a code change
# reuses this layer instead of reinstalling faust and friends; at the tested versions of
# requirements/lock.txt.
COPY pyproject.toml README.md ./
COPY requirements/lock.txt ./requirements/lock.txt
RUN mkdir pitchcast && touch pitchcast/__init__.py \
    && pip install -c requirements/lock.txt . \
    && pip uninstall -y pitchcast \
    && rm -rf pitchcast build ./*.egg-info

COPY pitchcast ./pitchcast
RUN pip install --no-deps . && rm -rf build ./*.egg-info
# Sample matches for `pitchcast replay`.
COPY data ./data

RUN mkdir -p /var/lib/pitchcast && chown pitchcast /var/lib/pitchcast
USER pitchcast
# Faust keeps its worker state here (a volume in docker-compose.yml).
ENV PITCHCAST_DATA_DIR=/var/lib/pitchcast/worker

ENTRYPOINT ["pitchcast"]
CMD ["worker"]
