"""otviz: watch optimal-transport and generative-model training happen live on 2-D data."""

__version__ = "0.1.0"
