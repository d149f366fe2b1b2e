"""Generators that are not GANs, sampled to the same dataset format: the references a GAN must
beat. :mod:`~chaosgan.baselines.esn` is an echo-state network (reservoir computing);
:mod:`~chaosgan.baselines.sample` turns it into a generated dataset."""
