"""Which kind of task a request is, and so which side it belongs on (routing step "classifier")."""

from .model import NAMES, ROUTES, Classifier, Prediction, shared

__all__ = ["NAMES", "ROUTES", "Classifier", "Prediction", "shared"]
