"""Rank and world size from the environment torchrun sets (RANK, WORLD_SIZE, LOCAL_RANK).

Work is sharded by rank deterministically; each rank writes its own record files, so no collective is
needed to generate. Without torchrun: rank 0 of 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from lensbench.errors import UserError


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @classmethod
    def from_env(cls) -> "DistContext":
        env = os.environ
        if "WORLD_SIZE" not in env and "RANK" not in env:
            return cls()
        try:
            rank = int(env.get("RANK", "0"))
            world = int(env.get("WORLD_SIZE", "1"))
            local = int(env.get("LOCAL_RANK", str(rank)))
        except ValueError:
            raise UserError("RANK / WORLD_SIZE / LOCAL_RANK must be integers; launch with torchrun or unset them") from None
        if world < 1 or not 0 <= rank < world:
            raise UserError(f"bad torchrun environment: RANK={rank} WORLD_SIZE={world}; launch with torchrun or unset them")
        return cls(rank=rank, world_size=world, local_rank=local)

    def device_for(self, device: str) -> str:
        """With several ranks on a node, 'cuda'/'auto' means this rank's local GPU."""
        if self.world_size > 1 and device in ("cuda", "auto"):
            import torch

            if torch.cuda.is_available():
                return f"cuda:{self.local_rank}"
        return device
