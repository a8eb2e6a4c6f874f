#!/usr/bin/env bash
# Build .venv-ref: the reference JTFS the SCRAPL paper used (kymatio 0.4.0.dev0,
# vendored inside scrapl-loss 0.1.0). It cannot share an environment with the
# main .venv (kymatio 0.3.0 would shadow the vendored copy), hence a second venv.
#
# Idempotent: reuses .venv-ref when it already imports the reference; rebuilds
# otherwise. torch is pinned (an unpinned torch pulls a multi-GB CUDA build) and
# scipy<1.17 is needed because the vendored kymatio imports scipy.special.sph_harm.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PY:-python3}"
VENV=.venv-ref
PINS=("torch==2.13.0" "scrapl-loss==0.1.0" "scipy<1.17")

check() {
    "$VENV/bin/python" - <<'PYEOF' >/dev/null 2>&1
import scrapl  # noqa: F401  (adds the vendored kymatio to sys.path)
import kymatio
from kymatio.torch import TimeFrequencyScattering  # noqa: F401
assert kymatio.__version__.startswith("0.4.0"), kymatio.__version__
assert "scrapl" in kymatio.__file__, kymatio.__file__
PYEOF
}

if [ -x "$VENV/bin/python" ] && check; then
    echo "$VENV is ready"
    exit 0
fi

rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
# One resolver run with every pin, so pip never picks an unpinned torch.
"$VENV/bin/pip" install -q "${PINS[@]}"
check || { echo "error: $VENV was built but the vendored kymatio does not import" >&2; exit 1; }
echo "$VENV built: $("$VENV/bin/python" -c 'import torch, scipy; print("torch", torch.__version__, "scipy", scipy.__version__)')"
