#!/usr/bin/env bash
# Build the clipmill-worker image from docker/Dockerfile and check it for real with a Docker engine:
#   - the face backends that ship (mediapipe, YuNet, dlib identity) load and track inside the image
#   - the README's run command publishes a 9:16 clip inside the image (checked with ffprobe and sha256)
#   - the clip-job-docker deployment from prefect.yaml, on a Docker work pool with a `prefect worker`,
#     runs a flow in a container of the image that finds the store through a saved block
# (tests/docker/test_worker_image.py, strict: a missing engine or image fails instead of skipping).
#
# Extra `docker build` arguments go in CLIPMILL_DOCKER_BUILD_ARGS, e.g. where PyTorch's CPU index is
# unreachable but a folder or page holds the torch-2.13.0+cpu wheel:
#   CLIPMILL_DOCKER_BUILD_ARGS="--build-arg TORCH_INDEX_URL=https://pypi.org/simple \
#     --build-arg TORCH_FIND_LINKS=http://127.0.0.1:8765/ --network host" scripts/check_docker_image.sh
# CLIPMILL_DOCKER_SKIP_BUILD=1 checks an image built before.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE="${CLIPMILL_DOCKER_IMAGE:-clipmill-worker:0.1.0}"

if [ ! -x .venv/bin/python ]; then
  echo "check_docker_image: no .venv here; run scripts/setup.sh first (the tests run a server and a worker)" >&2
  exit 1
fi
docker info >/dev/null 2>&1 || { echo "check_docker_image: no Docker engine answers 'docker info'" >&2; exit 1; }

if [ "${CLIPMILL_DOCKER_SKIP_BUILD:-0}" != "1" ]; then
  echo "== docker build -t $IMAGE -f docker/Dockerfile ."
  # shellcheck disable=SC2086  # the extra arguments are meant to split into words
  docker build -t "$IMAGE" -f docker/Dockerfile ${CLIPMILL_DOCKER_BUILD_ARGS:-} .
fi

echo "== tests/docker against $IMAGE"
CLIPMILL_DOCKER_IMAGE="$IMAGE" CLIPMILL_DOCKER_CHECK_STRICT=1 \
  .venv/bin/python -m pytest tests/docker -q -p no:cacheprovider
echo "check_docker_image: $IMAGE built and checked"
