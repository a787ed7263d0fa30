"""Transfer: start a network from the shared part of a fitted one (``init_from``)."""

from __future__ import annotations

from torch import nn

__all__ = ["transfer_shared"]


def transfer_shared(module: nn.Module, source, freeze: bool, shared_modules) -> None:
    """Copy the shared part of ``source`` (a fitted estimator of the family, or a network)
    into ``module``; ``shared_modules(network)`` names the shared part."""
    if source is None:
        return
    if not isinstance(source, nn.Module) and hasattr(source, "_rebuild_net"):
        if not hasattr(source, "net_"):
            raise ValueError(
                "init_from is an unfitted estimator; pass a fitted one, or its network "
                "`fitted.net_.module_`."
            )
        source = source.net_.module_
    if not isinstance(source, nn.Module):
        raise TypeError(f"init_from must be a fitted estimator or a torch module, got "
                        f"{type(source).__name__}.")
    if type(source) is not type(module):
        raise ValueError(
            f"init_from has a {type(source).__name__} network but this estimator builds "
            f"a {type(module).__name__}; use the same architecture."
        )
    targets = shared_modules(module)
    for name, src in shared_modules(source).items():
        try:
            targets[name].load_state_dict(src.state_dict())
        except (KeyError, RuntimeError) as exc:
            raise ValueError(
                f"init_from's shared part {name!r} does not fit this network (same "
                f"input width and sizes needed): {exc}"
            ) from None
        if freeze:
            for p in targets[name].parameters():
                p.requires_grad_(False)
