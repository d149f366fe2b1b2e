"""The spectral-normalised DCGAN: configuration, layers, models, losses, training, sampling."""
