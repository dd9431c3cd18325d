"""A tiny FSDP training loop: enough to prove an image can shard a model and step an optimizer.

Runs as a single process on CPU (gloo backend) or under torchrun with one process per GPU (nccl).
"""

import argparse
import os

import torch
import torch.distributed as dist
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()

    use_cuda = torch.cuda.is_available()
    backend = "nccl" if use_cuda else "gloo"
    if "WORLD_SIZE" in os.environ:
        dist.init_process_group(backend=backend)  # launched by torchrun: env:// rendezvous
    else:
        # A single process needs no rendezvous over the network: an in-memory store will do.
        dist.init_process_group(backend=backend, store=dist.HashStore(), rank=0, world_size=1)
    rank = dist.get_rank()
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)

    model = torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1)).to(device)
    model = FSDP(model, device_id=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    torch.manual_seed(0)
    inputs = torch.randn(64, 32, device=device)
    targets = inputs.sum(dim=1, keepdim=True)

    for step in range(args.steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(model(inputs), targets)
        loss.backward()
        optimizer.step()
        if rank == 0:
            print(f"step {step} loss {loss.item():.4f}", flush=True)

    dist.destroy_process_group()
    if rank == 0:
        print("FSDP training finished", flush=True)


if __name__ == "__main__":
    main()
