"""Pure PyTorch modules: encoders, sharing architectures, fusion, heads.

Knows nothing of sklearn estimators (``nn`` never imports ``neural``).
"""
