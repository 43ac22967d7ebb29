"""Exports the real-size models of the end-to-end CUDA comparison, on the GPU machine.

Random weights from transformers configs (nothing is downloaded), fp16, the TorchScript exporter at
opset 17 with eager attention (the ts17_eager form of models/README.md), dynamic batch and sequence.
The encoder takes input_ids alone; the decoder takes input_ids and attention_mask (without a mask
input, transformers' mask code uses aten::diff, which opset 17 cannot export).
  encoder: BERT-base shape, 12 layers, hidden 768, 12 heads, positions up to 2048
  decoder: a Llama-style GQA decoder, 8 layers, hidden 2048, 16 query heads, 4 key/value heads
usage: python3 export_models.py OUT_DIR
"""
import os
import sys

import torch
from transformers import BertConfig, BertModel, LlamaConfig, LlamaModel


class LastHidden(torch.nn.Module):
    """The model's last hidden state alone, so the ONNX graph has one output."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, input_ids, attention_mask=None):
        return self.m(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state


def export(model, path, seq, with_mask):
    model = LastHidden(model).half().cuda().eval()
    ids = torch.randint(0, 1000, (1, seq), device="cuda")
    args, names = (ids,), ["input_ids"]
    if with_mask:
        args, names = (ids, torch.ones_like(ids)), ["input_ids", "attention_mask"]
    dynamic = {n: {0: "batch", 1: "seq"} for n in names + ["out"]}
    with torch.no_grad():
        torch.onnx.export(model, args, path, input_names=names, output_names=["out"],
                          dynamic_axes=dynamic, opset_version=17, dynamo=False)
    print("exported", path, os.path.getsize(path) // 2**20, "MiB")


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    bert = BertModel(BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                intermediate_size=3072, max_position_embeddings=2048,
                                attn_implementation="eager"), add_pooling_layer=False)
    export(bert, f"{out_dir}/encoder.onnx", 128, with_mask=False)
    llama = LlamaModel(LlamaConfig(hidden_size=2048, num_hidden_layers=8, num_attention_heads=16,
                                   num_key_value_heads=4, intermediate_size=5632, vocab_size=32000,
                                   max_position_embeddings=4096, use_cache=False,
                                   attn_implementation="eager"))
    export(llama, f"{out_dir}/decoder.onnx", 128, with_mask=True)


if __name__ == "__main__":
    main(sys.argv[1])
