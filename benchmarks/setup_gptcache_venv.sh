#!/usr/bin/env bash
# Create benchmarks/.venv-gptcache for gptcache_compare.py: GPTCache 0.1.44 with its default
# sqlite+faiss stores, and cacheback itself, so both systems use the very same MiniLM ONNX model.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-gptcache"
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check gptcache==0.1.44 faiss-cpu==1.15.1 sqlalchemy
"$venv/bin/pip" install --quiet --disable-pip-version-check -e "$(dirname "$here")"
"$venv/bin/python" -c "from importlib.metadata import version as v; print('ok: gptcache', v('gptcache'), 'faiss-cpu', v('faiss-cpu'), 'cacheback-ai', v('cacheback-ai'))"
