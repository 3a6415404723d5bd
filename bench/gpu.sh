#!/usr/bin/env bash
# The GPU checks in one run, for a lent device machine (the `device` tool), from the repository root:
#
#     bash bench/gpu.sh            # about 5 minutes on an H100; logs in $OUT (the device tool's), else bench-gpu/
#
# 1. tests/test_devices.py: the CUDA paths against the CPU (evaluation, transforms, indices, AND-OR solvers);
# 2. the AND-OR target of the issue, n = 20 in ≤ 60 s on a GPU: bench/andor.py's game at n = 16 and 20 with the
#    default splitting (weighted metric, CUDA graphs), 60 s each, its L1 and certified gap;
# 3. the exact pipeline on the GPU against the bare model: bench/exact.py at n = 16, 18, 20.
# Each step has its own time limit, so one that hangs leaves the others their time. Record the results in
# BENCHMARKS.md with the machine line this writes.
set -u
export PYTHONPATH=src PYTHONUNBUFFERED=1
out=${OUT:-bench-gpu}
mkdir -p "$out"

{
    date -u
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    python -c "import sys, numpy, scipy, torch; print('python', sys.version.split()[0], 'numpy', numpy.__version__,
'scipy', scipy.__version__, 'torch', torch.__version__, 'cuda', torch.cuda.is_available())"
} 2>&1 | tee "$out/machine.txt"

timeout 150 python -m pytest -q -p no:cacheprovider tests/test_devices.py 2>&1 | tail -n 20 | tee "$out/devices.txt"

timeout 300 python bench/andor.py --device cuda --ns 16 20 --first-order splitting --time-limit 60 \
    --lp-max 0 --ws-max 0 --dense-max 0 2>&1 | tee "$out/andor.txt"

timeout 120 python bench/exact.py --device cuda --ns 16 18 20 --no-peers --repeat 9 2>&1 | tee "$out/exact.txt"
