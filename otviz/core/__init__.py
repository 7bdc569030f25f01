"""Qt-free maths: datasets, OT solvers, losses, models. Nothing here may import Qt or its plotting."""
