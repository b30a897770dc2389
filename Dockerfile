# ormock in a container, built from this repository:
#
#   docker build -t ormock .
#   docker run --rm -p 8000:8000 ormock serve seedance --host 0.0.0.0
#
# The image's entrypoint is the `ormock` command: give it any of its commands (`serve`, `validate`,
# `demo`, ...). Outside a terminal `serve` prints plain log lines (add -it for the dashboard). A
# scenario of your own: -v "$PWD/scenarios:/scenarios" ormock serve /scenarios/mine.toml --host 0.0.0.0
FROM python:3.12-slim

WORKDIR /src
# what the wheel is built from: the package, and the guides and changelog it ships (`ormock docs`)
COPY pyproject.toml README.md LICENSE CHANGELOG.md ./
COPY docs ./docs
COPY ormock ./ormock
RUN pip install --no-cache-dir ".[fast]" && rm -rf /src

# run as a user of its own, from an empty folder
RUN useradd --create-home --shell /usr/sbin/nologin ormock
USER ormock
WORKDIR /home/ormock
EXPOSE 8000
ENTRYPOINT ["ormock"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
