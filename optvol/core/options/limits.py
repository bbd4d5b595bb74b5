"""Plausibility limits on what a prediction request may ask, shared by the predictor
that enforces them and the API schema that states them."""

# A request's underlying may differ from the data's previous trading day's by at most
# this factor either way: more is a typo or a wrong unit (no index, and almost no stock,
# moves threefold in a day), and the model would extrapolate far outside its training.
MAX_UNDERLYING_MOVE = 3.0
