"""One SDK client's short SFT run on its own LoRA (run as a script, or `train` loaded in-process).

Client `index` gets its own seed, data and learning rate, so two clients' losses
differ and any cross-talk between them on the server shows up in either.
"""

from __future__ import annotations

import json
import sys

import tinker
from tinker import types

STEPS = 2


def train(base_url: str, index: int) -> list[float]:
    """The per-step summed NLL of client `index`, trained on the server at `base_url`."""
    service = tinker.ServiceClient(base_url=base_url)
    client = service.create_lora_training_client(
        base_model="cookbook/tiny-chat", rank=4, seed=1000 + index
    ).result()
    rows = [[(7 * index + 3 * j + k * (index + 1)) % 250 + 1 for k in range(12)] for j in range(2)]
    data = [
        types.Datum(
            model_input=types.ModelInput.from_ints(row[:-1]),
            loss_fn_inputs={"target_tokens": row[1:], "weights": [1.0] * (len(row) - 1)},
        )
        for row in rows
    ]
    losses = []
    for _ in range(STEPS):
        out = client.forward_backward(data, "cross_entropy").result()
        client.optim_step(types.AdamParams(learning_rate=1e-3 * (index + 1))).result()
        losses.append(sum(-sum(o["logprobs"].tolist()) for o in out.loss_fn_outputs))
    service.close("success").result()
    return losses


if __name__ == "__main__":
    print(json.dumps(train(sys.argv[1], int(sys.argv[2]))))
