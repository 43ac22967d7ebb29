"""Exports tiny random-weight models of architectures beyond models/corpus, on the GPU machine.

Same recipe as models/corpus (torch + transformers, tiny configs: hidden 64, 4 heads of 16, 2 layers,
vocab 128), the same five variants (ts17_eager, ts17_sdpa, ts17_eager_fp16, dyn18_sdpa, dyn23_sdpa);
weights rounded to multiples of 1/64 so the files compress. Each export runs in its own process.
usage: python3 export_more.py OUT_DIR [JOBS] [ARCH,ARCH,...]      (writes OUT_DIR/*.onnx and OUT_DIR/manifest.json)
"""
import json
import os
import subprocess
import sys
import time

B, S, DEC = 2, 16, 8
VARIANTS = ["ts17_eager", "ts17_sdpa", "ts17_eager_fp16", "dyn18_sdpa", "dyn23_sdpa"]


def configs():
    import transformers as t
    common = dict(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, max_position_embeddings=128, use_cache=False)
    return {
        "mistral": ("text", lambda: t.MistralModel(t.MistralConfig(**common, num_key_value_heads=2, sliding_window=8))),
        "qwen2": ("text", lambda: t.Qwen2Model(t.Qwen2Config(**common, num_key_value_heads=2))),
        "qwen3": ("text", lambda: t.Qwen3Model(t.Qwen3Config(**common, num_key_value_heads=2, head_dim=16))),
        "gemma2": ("text", lambda: t.Gemma2Model(t.Gemma2Config(**common, num_key_value_heads=2, head_dim=16,
                                                                 query_pre_attn_scalar=16, attn_logit_softcapping=50.0,
                                                                 sliding_window=8))),
        "phi3": ("text", lambda: t.Phi3Model(t.Phi3Config(**common, num_key_value_heads=2, pad_token_id=0))),
        "gpt_neox": ("text", lambda: t.GPTNeoXModel(t.GPTNeoXConfig(**common, rotary_pct=0.25))),
        "bloom": ("text", lambda: t.BloomModel(t.BloomConfig(vocab_size=128, hidden_size=64, n_layer=2, n_head=4, use_cache=False))),
        "falcon": ("text", lambda: t.FalconModel(t.FalconConfig(vocab_size=128, hidden_size=64, num_hidden_layers=2,
                                                                num_attention_heads=4, multi_query=True, use_cache=False))),
        "opt": ("text", lambda: t.OPTModel(t.OPTConfig(vocab_size=128, hidden_size=64, num_hidden_layers=2, ffn_dim=128,
                                                       num_attention_heads=4, word_embed_proj_dim=64,
                                                       max_position_embeddings=128, use_cache=False))),
        "gpt_bigcode": ("text", lambda: t.GPTBigCodeModel(t.GPTBigCodeConfig(vocab_size=128, n_embd=64, n_layer=2, n_head=4,
                                                                             n_positions=128, multi_query=True, use_cache=False))),
        "mpt": ("text", lambda: t.MptModel(t.MptConfig(vocab_size=128, d_model=64, n_heads=4, n_layers=2, max_seq_len=128,
                                                       use_cache=False))),
        "distilbert": ("text", lambda: t.DistilBertModel(t.DistilBertConfig(vocab_size=128, dim=64, n_layers=2, n_heads=4,
                                                                            hidden_dim=128, max_position_embeddings=128))),
        "roberta": ("text", lambda: t.RobertaModel(t.RobertaConfig(**common, pad_token_id=1), add_pooling_layer=False)),
        "deberta_v2": ("text", lambda: t.DebertaV2Model(t.DebertaV2Config(**common, relative_attention=True,
                                                                         pos_att_type=["p2c", "c2p"], position_buckets=8))),
        "clip_text": ("text", lambda: t.CLIPTextModel(t.CLIPTextConfig(vocab_size=128, hidden_size=64, intermediate_size=128,
                                                                       num_hidden_layers=2, num_attention_heads=4,
                                                                       max_position_embeddings=32))),
        "bart": ("seq2seq", lambda: t.BartModel(t.BartConfig(vocab_size=128, d_model=64, encoder_layers=2, decoder_layers=2,
                                                             encoder_attention_heads=4, decoder_attention_heads=4,
                                                             encoder_ffn_dim=128, decoder_ffn_dim=128,
                                                             max_position_embeddings=128, use_cache=False))),
        "whisper": ("speech", lambda: t.WhisperModel(t.WhisperConfig(vocab_size=128, d_model=64, encoder_layers=2, decoder_layers=2,
                                                                     encoder_attention_heads=4, decoder_attention_heads=4,
                                                                     encoder_ffn_dim=128, decoder_ffn_dim=128, num_mel_bins=16,
                                                                     max_source_positions=16, max_target_positions=64,
                                                                     pad_token_id=0, bos_token_id=1, eos_token_id=2,
                                                                     decoder_start_token_id=1, use_cache=False))),
        "marian": ("seq2seq", lambda: t.MarianModel(t.MarianConfig(vocab_size=128, d_model=64, encoder_layers=2, decoder_layers=2,
                                                                   encoder_attention_heads=4, decoder_attention_heads=4,
                                                                   encoder_ffn_dim=128, decoder_ffn_dim=128, pad_token_id=0,
                                                                   decoder_start_token_id=0, max_position_embeddings=128,
                                                                   use_cache=False))),
        "albert": ("text", lambda: t.AlbertModel(t.AlbertConfig(vocab_size=128, embedding_size=32, hidden_size=64,
                                                                num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                                                                max_position_embeddings=128), add_pooling_layer=False)),
        "electra": ("text", lambda: t.ElectraModel(t.ElectraConfig(vocab_size=128, embedding_size=64, hidden_size=64,
                                                                   num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                                                                   max_position_embeddings=128))),
        "gptj": ("text", lambda: t.GPTJModel(t.GPTJConfig(vocab_size=128, n_embd=64, n_layer=2, n_head=4, rotary_dim=8,
                                                          n_positions=128, use_cache=False))),
        "phi": ("text", lambda: t.PhiModel(t.PhiConfig(**common, partial_rotary_factor=0.5))),
        "starcoder2": ("text", lambda: t.Starcoder2Model(t.Starcoder2Config(**common, num_key_value_heads=2, sliding_window=8))),
        "beit": ("vision", lambda: t.BeitModel(t.BeitConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                                          num_attention_heads=4, image_size=32, patch_size=8,
                                                          use_relative_position_bias=True), add_pooling_layer=False)),
        "dinov2": ("vision", lambda: t.Dinov2Model(t.Dinov2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                                                num_attention_heads=4, image_size=32, patch_size=8))),
        "clip_vision": ("vision", lambda: t.CLIPVisionModel(t.CLIPVisionConfig(hidden_size=64, intermediate_size=128,
                                                                               num_hidden_layers=2, num_attention_heads=4,
                                                                               image_size=32, patch_size=8))),
        "swin": ("vision", lambda: t.SwinModel(t.SwinConfig(image_size=32, patch_size=4, embed_dim=16, depths=[2, 2],
                                                           num_heads=[2, 4], window_size=4))),
    }


def export_one(arch, variant, out_dir):
    import torch
    kind, build = configs()[arch]
    torch.manual_seed(0)
    impl = "eager" if "eager" in variant else "sdpa"
    model = build()
    model.config._attn_implementation = impl
    for m in model.modules():
        if hasattr(m, "config") and hasattr(m.config, "_attn_implementation"):
            m.config._attn_implementation = impl
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((p * 64).round() / 64)
    model.eval()
    fp16 = variant.endswith("fp16")
    dev = "cuda" if fp16 else "cpu"
    if fp16:
        model = model.half()
    model = model.to(dev)
    mask = torch.ones(B, S, dtype=torch.int64, device=dev)
    mask[1, -3:] = 0
    if kind == "text":
        names, args = ["input_ids", "attention_mask"], (torch.randint(0, 128, (B, S), device=dev), mask)
        fwd = lambda ids, am: model(input_ids=ids, attention_mask=am)[0]
        dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}}
    elif kind == "seq2seq":
        names = ["input_ids", "attention_mask", "decoder_input_ids"]
        args = (torch.randint(0, 128, (B, S), device=dev), mask, torch.randint(0, 128, (B, DEC), device=dev))
        fwd = lambda ids, am, dids: model(input_ids=ids, attention_mask=am, decoder_input_ids=dids)[0]
        dyn = {"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"}, "decoder_input_ids": {0: "batch", 1: "dseq"}}
    elif kind == "speech":
        dt = torch.float16 if fp16 else torch.float32
        names = ["input_features", "decoder_input_ids"]
        args = (torch.randn(B, 16, 32, device=dev, dtype=dt), torch.randint(0, 128, (B, DEC), device=dev))
        fwd = lambda feats, dids: model(input_features=feats, decoder_input_ids=dids)[0]
        dyn = {"input_features": {0: "batch"}, "decoder_input_ids": {0: "batch", 1: "dseq"}}
    else:
        dt = torch.float16 if fp16 else torch.float32
        names, args = ["pixel_values"], (torch.randn(B, 3, 32, 32, device=dev, dtype=dt),)
        fwd = lambda px: model(pixel_values=px)[0]
        dyn = {"pixel_values": {0: "batch"}}

    class Wrap(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, *a):
            return fwd(*a)

    path = os.path.join(out_dir, f"{arch}.{variant}.onnx")
    with torch.no_grad():
        if variant.startswith("ts17"):
            torch.onnx.export(Wrap(), args, path, input_names=names, output_names=["out"],
                              dynamic_axes=dyn, opset_version=17, dynamo=False)
        else:
            torch.onnx.export(Wrap(), args, path, input_names=names, output_names=["out"],
                              opset_version=18 if variant.startswith("dyn18") else 23, dynamo=True, external_data=False)
    return path


def main(out_dir, jobs, only=None):
    os.makedirs(out_dir, exist_ok=True)
    todo = [(a, v) for a in configs() for v in VARIANTS if not only or a in only]
    running, results = [], {}
    start = time.time()
    while todo or running:
        while todo and len(running) < jobs:
            a, v = todo.pop(0)
            log = open(os.path.join(out_dir, f"{a}.{v}.log"), "w")
            p = subprocess.Popen([sys.executable, __file__, "--one", a, v, out_dir], stdout=log, stderr=subprocess.STDOUT)
            running.append((a, v, p, time.time(), log))
        for item in list(running):
            a, v, p, t0, log = item
            rc = p.poll()
            if rc is None and time.time() - t0 > 300:
                p.kill(); rc = "timeout"
            if rc is not None:
                log.close()
                running.remove(item)
                ok = rc == 0 and os.path.exists(os.path.join(out_dir, f"{a}.{v}.onnx"))
                results[f"{a}.{v}"] = "ok" if ok else f"failed ({rc})"
                if ok:
                    os.remove(os.path.join(out_dir, f"{a}.{v}.log"))
                print(f"{time.time() - start:6.0f}s {a}.{v}: {results[f'{a}.{v}']}", flush=True)
        time.sleep(0.2)
    json.dump(results, open(os.path.join(out_dir, "manifest.json"), "w"), indent=1, sort_keys=True)


if __name__ == "__main__":
    if sys.argv[1] == "--one":
        export_one(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 8, sys.argv[3].split(",") if len(sys.argv) > 3 else None)
