"""Imported once by the process that forks the workers: torch and every method, shared by all of them.

Workers are forked from a server process that has imported this module (multiprocessing's
forkserver), so each starts in tens of milliseconds with these modules already loaded, and the
pages they occupy are shared between workers instead of being loaded again by each. Only imports
happen here: no thread pool or GPU is started before the fork.
"""
import torch  # noqa: F401
import torch._dynamo  # noqa: F401  (torch's optimisers import it on their first use)
import torch.optim  # noqa: F401

from otviz.methods import REGISTRY, method_class

for _name in REGISTRY:
    method_class(_name)

import sklearn.mixture  # noqa: E402,F401  (EM overlays and the GMM fit of generated points)

import otviz.session.file  # noqa: E402,F401
import otviz.worker.fields  # noqa: E402,F401
import otviz.worker.loop  # noqa: E402,F401
