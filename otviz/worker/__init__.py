"""Training in worker processes: the message channel, the training loop, the field helper and the spare pool.

Nothing here imports Qt: the GUI's threads own the connections, the processes run the same Session
and Method objects as the headless CLI.
"""
