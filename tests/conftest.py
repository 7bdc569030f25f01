"""Test set-up: Qt without a display, one torch thread (2-core machines), deterministic seeds."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402

torch.set_num_threads(1)
