"""The option GRU: the network with its Black-Scholes layer, the training loop, the
saved artifact (state_dict + card) and a NumPy forward pass for serving."""
