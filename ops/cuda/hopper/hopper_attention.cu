// Host side of the Hopper kernel: which params it takes, TMA descriptors, launch.
#include "hopper_attention.h"

#include <cuda.h>
#include <cuda_runtime.h>
#include <cudaTypedefs.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "flash_fwd.cuh"

// Build-time variants, for the benchmark script to compare (test/gpu/hopper/run.sh).
#ifndef FA_HOPPER_PINGPONG
#define FA_HOPPER_PINGPONG 1
#endif
#ifndef FA_HOPPER_D128_BN  // key block of the plain D 128 kernel on long keys (below); 160/176/192
#define FA_HOPPER_D128_BN 128  // measured within noise of 128 (bench/RESULTS.md), so 128
#endif
#ifndef FA_HOPPER_D128_WIDE_MIN_SK  // the shortest key length that takes FA_HOPPER_D128_BN
#define FA_HOPPER_D128_WIDE_MIN_SK 4096
#endif
// Plain D 128 calls on at least FA_HOPPER_D128_WGS3_MIN_SK keys with a tile per SM run three consumer
// warpgroups without the intra-warpgroup overlap (3; 2: the two-warpgroup kernel everywhere). A/A-controlled,
// bf16 non-causal: +3-6% at S 2048-16384, -5% at S 1024 (192-row tiles waste rows there); causal 0.90-1.02,
// hence non-causal only unless FA_HOPPER_D128_WGS3_CAUSAL (bench/RESULTS.md, 18:00 entry). Shorter key ranges
// that the two-Q-buffer kernel does not take run three warpgroups when 192-row tiles pad no more query rows than
// 128-row ones (Sq 1152: +2.3%, 1536: +5.8%; 1280, with 64 more rows: -3.3%; 2026-11-24 00:22 entry).
#ifndef FA_HOPPER_D128_WGS
#define FA_HOPPER_D128_WGS 3
#endif
#ifndef FA_HOPPER_D128_WGS3_MIN_SK
#define FA_HOPPER_D128_WGS3_MIN_SK 2048
#endif
#ifndef FA_HOPPER_D128_WGS3_CAUSAL
#define FA_HOPPER_D128_WGS3_CAUSAL 0
#endif
// Causal or windowed D 64 calls up to this Sq take 128-row tiles (two warpgroups), longer ones 192 (three).
// A/A-controlled (bench/RESULTS.md, 18:20 entry): three warpgroups +14% at causal S 2048, 0.98-0.99 at 512-1024.
#ifndef FA_HOPPER_D64_SHORT_CAUSAL_MAX_SQ
#define FA_HOPPER_D64_SHORT_CAUSAL_MAX_SQ 1024
#endif
#ifndef FA_HOPPER_D64_WGS
#define FA_HOPPER_D64_WGS 3
#endif
#ifndef FA_HOPPER_L2_GROUP_MB
#define FA_HOPPER_L2_GROUP_MB 8
#endif
// Calls without a causal or sliding window take one head per L2 group (Launch; 0: the size above for all).
#ifndef FA_HOPPER_SHARED_KV_ORDER
#define FA_HOPPER_SHARED_KV_ORDER 1
#endif
#ifndef FA_HOPPER_D64_EXTRA_WGS  // D 64 with a per-key bias or mask (3: 281 vs 248 TFLOP/s measured with a mask)
#define FA_HOPPER_D64_EXTRA_WGS 3
#endif
#ifndef FA_HOPPER_D256_BN
#define FA_HOPPER_D256_BN 80
#endif
#ifndef FA_HOPPER_Q2_MAX_SK  // the longest key length that takes two Q buffers (0: never)
#define FA_HOPPER_Q2_MAX_SK 1024
#endif
// D 64's limit: up to 2048 keys, +7% causal S 2048 (on three warpgroups since the 18:20 change) and level
// non-causal, A/A-controlled (bench/RESULTS.md, 18:30 entry); D 128 S 2048 stays on three warpgroups.
#ifndef FA_HOPPER_D64_Q2_MAX_SK
#define FA_HOPPER_D64_Q2_MAX_SK 2048
#endif

namespace fa_onnx::cuda::hopper {
namespace {

bool Aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

// A window that reaches past every key excludes nothing: it is the same as no window (-1). Taking
// it as -1 keeps pos ± window small (INT_MAX, "no window" for some exporters, would otherwise
// overflow 32-bit arithmetic) and lets such calls use the unwindowed tile shapes.
int EffectiveWindow(int w, const AttentionParams& p) {
  return w >= 0 && int64_t(w) >= int64_t(p.seqlen_q) + p.seqlen_k ? -1 : w;
}

// Which extra terms the kernel reads (flash_fwd.cuh): none; per key when every bias/mask present is
// broadcast over query rows (stride[2] == 0: key-padding masks); else (also ALiBi) per element.
int ExtraMode(const AttentionParams& p) {
  if (p.bias.data == nullptr && p.mask.data == nullptr && p.alibi_slopes == nullptr) return kExtraNone;
  // ALiBi is per element (its term depends on the row); keeping it out of the per-key kernel keeps
  // that one lean.
  const bool per_key = p.alibi_slopes == nullptr && (p.bias.data == nullptr || p.bias.stride[2] == 0) &&
                       (p.mask.data == nullptr || p.mask.stride[2] == 0);
  return per_key ? kExtraPerKey : kExtraPerElement;
}

// Whether some query row may have no key taking part (then masked_rows decides its output). Varlen:
// a sequence may have no keys.
bool MayMaskRows(const AttentionParams& p) {
  return EffectiveWindow(p.window_left, p) >= 0 || EffectiveWindow(p.window_right, p) >= 0 ||
         p.key_lengths != nullptr || p.bias.data != nullptr || p.mask.data != nullptr || p.is_varlen();
}

// The tensor maps' extents: dense [batch, seq]; varlen one packed batch of total tokens.
struct MapExtents {
  int batch, seq_q, seq_k;
};
MapExtents Extents(const AttentionParams& p) {
  if (p.is_varlen()) return {1, p.total_q, p.total_k};
  return {p.batch, p.seqlen_q, p.seqlen_k};
}

// What the kernel can compute at all (the shim in test/gpu/hopper calls Run directly on these).
std::string KernelLimits(const AttentionParams& p) {
  if (p.dtype != DType::kFloat16 && p.dtype != DType::kBFloat16) return "Hopper kernel: dtype is not fp16/bf16";
  if (p.head_dim != p.head_dim_v) return "Hopper kernel: head_dim_v differs from head_dim";
  if (p.head_dim != 64 && p.head_dim != 128 && p.head_dim != 256) return "Hopper kernel: head dim not 64/128/256";
  if (p.is_varlen()) {
    // The tensor maps span the packed tensors: their token counts must be known on the host.
    if (p.cu_seqlens_k == nullptr || p.total_q < 1 || p.total_k < 1) return "Hopper kernel: varlen without tokens";
    if (p.key_lengths != nullptr || p.bias.data != nullptr || p.mask.data != nullptr)
      return "Hopper kernel: varlen with key lengths, bias or mask";
  }
  if (p.cache_lengths != nullptr || p.block_table != nullptr) return "Hopper kernel: KV cache not implemented";
  if (p.q_descale != nullptr || p.k_descale != nullptr || p.v_descale != nullptr) return "Hopper kernel: FP8 not implemented";
  if (p.batch < 1 || p.heads_q < 1 || p.heads_kv < 1 || p.heads_q % p.heads_kv != 0) return "Hopper kernel: bad head counts";
  if (p.seqlen_q < 1 || p.seqlen_k < 1) return "Hopper kernel: empty sequence";
  // The kernel's window bounds are 32-bit sums of a row, Sk - Sq and a window below Sq + Sk.
  if (int64_t(p.seqlen_q) + p.seqlen_k >= (int64_t(1) << 29)) return "Hopper kernel: sequences too long";
  // The row max is taken on unscaled scores: right only for a positive scale (softcap rescales first).
  if (!(p.scale > 0.f) && !(p.softcap > 0.f)) return "Hopper kernel: scale must be positive";
  if (p.masked_rows == MaskedRows::kNaN && MayMaskRows(p))
    return "Hopper kernel: masked_rows nan with windows, key lengths, bias or mask";
  // TMA: 16-byte aligned base addresses and strides (8 elements of 16 bits).
  if (!Aligned16(p.q.data) || !Aligned16(p.k.data) || !Aligned16(p.v.data) || !Aligned16(p.o.data))
    return "Hopper kernel: tensor not 16-byte aligned";
  const int64_t strides[] = {p.q.batch_stride, p.q.seq_stride, p.q.head_stride, p.k.batch_stride,
                             p.k.seq_stride,   p.k.head_stride, p.v.batch_stride, p.v.seq_stride,
                             p.v.head_stride,  p.o.batch_stride, p.o.seq_stride, p.o.head_stride};
  for (int64_t s : strides)
    if (s % 8 != 0) return "Hopper kernel: strides not multiples of 8 elements";
  // TMA walks every axis of extent > 1 by a positive stride below 2^40 bytes (MakeMap gives axes of
  // extent 1 a stride of its own), so other views go to the portable kernel instead of failing in Run.
  auto usable = [](int64_t stride, int extent) {
    return extent <= 1 || (stride > 0 && stride < (int64_t(1) << 39));
  };
  const MapExtents e = Extents(p);
  const bool maps_ok = usable(p.q.seq_stride, e.seq_q) && usable(p.q.head_stride, p.heads_q) &&
                       usable(p.q.batch_stride, e.batch) && usable(p.k.seq_stride, e.seq_k) &&
                       usable(p.k.head_stride, p.heads_kv) && usable(p.k.batch_stride, e.batch) &&
                       usable(p.v.seq_stride, e.seq_k) && usable(p.v.head_stride, p.heads_kv) &&
                       usable(p.v.batch_stride, e.batch) && usable(p.o.seq_stride, e.seq_q) &&
                       usable(p.o.head_stride, p.heads_q) && usable(p.o.batch_stride, e.batch);
  if (!maps_ok) return "Hopper kernel: a zero, negative or huge stride";
  return {};
}

// Parameter classes switch on here once they pass numerics on the GPU (test/gpu/hopper/run.sh).
// Everything KernelLimits admits passed on an H100 on 2026-11-23 (fp16/bf16; D 64/128/256; causal
// both alignments, windows, softcap, GQA/MQA, key lengths, BSHD/BHSD, log-sum-exp; bias and mask,
// per key and per element).
// FA_ONNX_HOPPER=0 turns the kernel off (the dispatch then runs the portable kernel).
std::string EnabledGate(const AttentionParams& p) {
  if (const char* e = std::getenv("FA_ONNX_HOPPER"); e != nullptr && std::strcmp(e, "0") == 0)
    return "Hopper kernel disabled by FA_ONNX_HOPPER=0";
  // A bias or mask that varies along the query rows is read per element here with its latency exposed
  // (53-96 TFLOP/s at bench_features.py's point); the portable kernel's general path (7bc09b5) was
  // measured faster there (bias [1,1,S,S] 95 / 130 at D 64 / 128), so the dispatch runs it. Run still
  // takes them (test/gpu/hopper/check.py checks that path).
  if ((p.bias.data != nullptr && p.bias.stride[2] != 0) || (p.mask.data != nullptr && p.mask.stride[2] != 0))
    return "Hopper kernel: bias/mask varying along the query rows (the portable kernel is faster)";
  return {};
}

PFN_cuTensorMapEncodeTiled_v12000 EncodeTiled() {
  static PFN_cuTensorMapEncodeTiled_v12000 fn = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    void* ptr = nullptr;
    cudaDriverEntryPointQueryResult status{};
    if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &ptr, 12000, cudaEnableDefault, &status) ==
            cudaSuccess &&
        status == cudaDriverEntryPointSuccess)
      fn = reinterpret_cast<PFN_cuTensorMapEncodeTiled_v12000>(ptr);
  });
  return fn;
}

// A 4-D map (dim, seq, head, batch) over a strided tensor, read in boxes of 64 × rows × 1 × 1 with
// 128-byte swizzle (the layout the wgmma descriptors expect).
std::string MakeMap(CUtensorMap* map, const void* data, DType dtype, int dim, int seq, int heads, int batch,
                    int64_t seq_stride, int64_t head_stride, int64_t batch_stride, int rows) {
  auto encode = EncodeTiled();
  if (encode == nullptr) return "Hopper kernel: cuTensorMapEncodeTiled unavailable";
  const cuuint64_t dims[4] = {cuuint64_t(dim), cuuint64_t(seq), cuuint64_t(heads), cuuint64_t(batch)};
  int64_t st[3] = {seq_stride * 2, head_stride * 2, batch_stride * 2};
  // A dimension of extent 1 is never stepped along; give it a legal stride whatever the view says.
  const int64_t span = std::max({st[0] * seq, st[1] * heads, int64_t(16)});
  if (seq == 1) st[0] = span;
  if (heads == 1) st[1] = span;
  if (batch == 1) st[2] = span;
  for (int64_t s : st)
    if (s <= 0 || s % 16 != 0 || s >= (int64_t(1) << 40)) return "Hopper kernel: stride not usable by TMA";
  const cuuint64_t strides[3] = {cuuint64_t(st[0]), cuuint64_t(st[1]), cuuint64_t(st[2])};
  const cuuint32_t box[4] = {64, cuuint32_t(rows), 1, 1};
  const cuuint32_t elem_strides[4] = {1, 1, 1, 1};
  const CUtensorMapDataType type =
      dtype == DType::kBFloat16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16;
  const CUresult r = encode(map, type, 4, const_cast<void*>(data), dims, strides, box, elem_strides,
                            CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                            CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) return "Hopper kernel: cuTensorMapEncodeTiled failed (" + std::to_string(int(r)) + ")";
  return {};
}

int SmCount() {
  int device = 0, count = 0;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device);
  return count > 0 ? count : 132;
}

template <typename T, typename Shape, int kExtra>
std::string Launch(const AttentionParams& p, cudaStream_t stream, Scratch& scratch) {
  CUtensorMap tq, tk, tv, to;
  // Varlen: maps over all packed tokens (batch extent 1); a tile adds its sequence's offset, and the
  // rows a box reads past that sequence (the next one's) are excluded by the kernel's bounds.
  const MapExtents ext = Extents(p);
  std::string err = MakeMap(&tq, p.q.data, p.dtype, p.head_dim, ext.seq_q, p.heads_q, ext.batch, p.q.seq_stride,
                            p.q.head_stride, p.q.batch_stride, Shape::kBlockM);
  if (err.empty())
    err = MakeMap(&tk, p.k.data, p.dtype, p.head_dim, ext.seq_k, p.heads_kv, ext.batch, p.k.seq_stride,
                  p.k.head_stride, p.k.batch_stride, Shape::kBlockN);
  if (err.empty())
    err = MakeMap(&tv, p.v.data, p.dtype, p.head_dim_v, ext.seq_k, p.heads_kv, ext.batch, p.v.seq_stride,
                  p.v.head_stride, p.v.batch_stride, Shape::kBlockN);
  // The output map is read only by the dense kernels that store their tile by TMA (flash_fwd.cuh,
  // kTmaStore); varlen passes the Q map in its place, unused.
  if (err.empty() && !p.is_varlen())
    err = MakeMap(&to, p.o.data, p.dtype, p.head_dim_v, ext.seq_q, p.heads_q, ext.batch, p.o.seq_stride,
                  p.o.head_stride, p.o.batch_stride, 64);
  if (p.is_varlen()) to = tq;
  if (!err.empty()) return err;

  FwdArgs a{};
  a.batch = p.batch;
  a.heads_q = p.heads_q;
  a.heads_kv = p.heads_kv;
  a.group = p.heads_q / p.heads_kv;
  a.seqlen_q = p.seqlen_q;
  a.seqlen_k = p.seqlen_k;
  // Varlen: tiles for batch × the longest sequence; the kernel skips those past a sequence's rows.
  a.cu_seqlens_q = p.cu_seqlens_q;
  a.cu_seqlens_k = p.cu_seqlens_k;
  a.total_q = p.total_q;
  a.total_k = p.total_k;
  a.bottom_right = p.bottom_right;
  a.num_m_blocks = (p.seqlen_q + Shape::kBlockM - 1) / Shape::kBlockM;
  const int base_tiles = a.num_m_blocks * p.heads_q * p.batch;
  static const int sms = SmCount();
  // masked_rows "uniform" with rows that may be fully masked: those rows are filled after the kernel
  // (FillMaskedRows), found by their -inf log-sum-exp, so no split (CombineSplits writes no such mark).
  const bool fill_uniform = p.masked_rows == MaskedRows::kUniform && MayMaskRows(p);
  // Too few tiles for the SMs: split each tile's keys (at least 2 key blocks per split).
  a.num_splits = 1;
  const int key_blocks = (p.seqlen_k + Shape::kBlockN - 1) / Shape::kBlockN;
  const char* split_env = std::getenv("FA_ONNX_HOPPER_SPLIT");  // "0": never split (for comparisons)
  // The wide D 128 blocks run only with a tile per SM (LaunchByDim): no split instantiation for them.
  // Nor for the two-Q-buffer shapes and the three-warpgroup D 128 one (kOverlap false), which LaunchByDim
  // picks only where there are tiles enough.
  constexpr bool kMaySplit = Shape::kBlockN <= 128 && Shape::kQBuffers == 1 && Shape::kOverlap;
  // Varlen is not split (its tiles have different key ranges; CombineSplits is dense).
  const bool may_split = kMaySplit && !fill_uniform && !p.is_varlen() &&
                         (split_env == nullptr || std::strcmp(split_env, "0") != 0);
  if (may_split && base_tiles < sms && key_blocks >= 4)
    a.num_splits = std::min({16, (sms + base_tiles - 1) / base_tiles, key_blocks / 2});
  if (a.num_splits > 1) {
    const int64_t rows = int64_t(a.num_splits) * p.batch * p.heads_q * p.seqlen_q;
    a.o_partial = static_cast<float*>(scratch.Allocate(size_t(rows) * Shape::kD * sizeof(float)));
    a.lse_partial = static_cast<float*>(scratch.Allocate(size_t(rows) * sizeof(float)));
    if (a.o_partial == nullptr || a.lse_partial == nullptr) a.num_splits = 1;
  }
  a.num_tiles = base_tiles * a.num_splits;
  // K and V of one (batch, head) pair take 4·Sk·D bytes; keep the pairs in flight within a part of
  // the 50 MB L2. Tiles go out longest first across a group's heads (causal tiles differ in length).
  // Without a causal or sliding window a head's tiles are equally long: one head per group then puts
  // neighbouring tiles on the same K/V, so CTAs running side by side read the same blocks at about the
  // same time (L2 sector reads 36.0M -> 20.6M at D 128 S 1024). Measured +2-5% at S 512, level elsewhere,
  // in bursts and under the 700 W limit alike (bench/RESULTS.md, Hopper, 2026-11-24 02:30).
  const int64_t kv_bytes = int64_t(4) * p.seqlen_k * p.head_dim;
  const bool equal_tiles = EffectiveWindow(p.window_left, p) < 0 && EffectiveWindow(p.window_right, p) < 0;
  a.heads_per_group =
      FA_HOPPER_SHARED_KV_ORDER && equal_tiles
          ? 1
          : int(std::max<int64_t>(1, std::min<int64_t>(int64_t(p.batch) * p.heads_q,
                                                       (int64_t(FA_HOPPER_L2_GROUP_MB) << 20) / kv_bytes)));
  // Per-key mask: the admitted key range of each mask row first, so that the kernel skips the
  // blocks outside it (padding).
  a.key_range = nullptr;
  if (kExtra == kExtraPerKey && p.mask.data != nullptr) {
    const int rows_b = p.mask.stride[0] != 0 ? p.batch : 1;
    const int rows_h = p.mask.stride[1] != 0 ? p.heads_q : 1;
    int* range = static_cast<int*>(scratch.Allocate(size_t(rows_b) * rows_h * 2 * sizeof(int)));
    if (range != nullptr) {
      MaskKeyRange<<<unsigned(rows_b * rows_h), 256, 0, stream>>>(
          static_cast<const uint8_t*>(p.mask.data), p.mask.stride[0], p.mask.stride[1], p.mask.stride[3], rows_h,
          p.seqlen_k, range);
      const cudaError_t e = cudaGetLastError();
      if (e != cudaSuccess) return std::string("Hopper mask range launch: ") + cudaGetErrorString(e);
      a.key_range = range;
      a.key_range_heads = rows_h;
      a.key_range_by_batch = rows_b > 1;
    }
  }
  // The dynamic scheduler's counter, zeroed on the stream, only where some CTA takes a second tile:
  // with a tile per CTA the static order is the same and the allocation and memset are saved.
  const int grid = std::min(a.num_tiles, sms);
  a.tile_counter = a.num_tiles > grid ? static_cast<int*>(scratch.Allocate(sizeof(int))) : nullptr;
  if (a.tile_counter != nullptr) {
    const cudaError_t e = cudaMemsetAsync(a.tile_counter, 0, sizeof(int), stream);
    if (e != cudaSuccess) return std::string("Hopper kernel: ") + cudaGetErrorString(e);
  }
  constexpr float kLog2e = 1.4426950408889634f;
  a.scale_log2 = p.scale * kLog2e;
  a.softcap_in = p.softcap > 0.f ? p.scale / p.softcap : 0.f;
  a.softcap_out = p.softcap > 0.f ? p.softcap * kLog2e : 0.f;
  a.window_left = EffectiveWindow(p.window_left, p);
  a.window_right = EffectiveWindow(p.window_right, p);
  a.diag = p.bottom_right ? p.seqlen_k - p.seqlen_q : 0;
  a.key_lengths = p.key_lengths;
  a.bias = static_cast<const uint16_t*>(p.bias.data);
  a.mask = static_cast<const uint8_t*>(p.mask.data);
  a.alibi_slopes = p.alibi_slopes;
  a.alibi_batch_stride = p.alibi_batch_stride;
  for (int i = 0; i < 4; ++i) {
    a.bias_stride[i] = p.bias.stride[i];
    a.mask_stride[i] = p.mask.stride[i];
  }
  // Per-key terms are read in 32-bit words when every (b, h) row starts on a 4-byte boundary.
  auto rows_aligned = [](const BroadcastView& v, int elem_bytes) {
    return v.data != nullptr && (reinterpret_cast<uintptr_t>(v.data) & 3) == 0 && v.stride[3] == 1 &&
           (v.stride[0] * elem_bytes) % 4 == 0 && (v.stride[1] * elem_bytes) % 4 == 0;
  };
  a.bias_vec = rows_aligned(p.bias, 2);
  a.mask_vec = rows_aligned(p.mask, 1);
  a.o = p.o.data;
  a.o_batch_stride = p.o.batch_stride;
  a.o_seq_stride = p.o.seq_stride;
  a.o_head_stride = p.o.head_stride;
  a.lse = p.lse;
  a.lse_batch_stride = p.lse_batch_stride;
  a.lse_head_stride = p.lse_head_stride;
  a.lse_seq_stride = p.lse_seq_stride;
  float* v_sum = nullptr;
  if (fill_uniform) {
    const size_t bytes = size_t(p.batch) * p.heads_kv * Shape::kD * sizeof(float);
    v_sum = static_cast<float*>(scratch.Allocate(bytes));
    if (a.lse == nullptr) {  // the fill needs each row's log-sum-exp: into scratch when not asked for
      // dense [B, Hq, Sq]; varlen [Hq, Tq] (as the op's output)
      const int64_t seq = p.is_varlen() ? p.total_q : p.seqlen_q;
      const int64_t batch = p.is_varlen() ? 1 : p.batch;
      a.lse = static_cast<float*>(scratch.Allocate(size_t(batch * p.heads_q * seq) * sizeof(float)));
      a.lse_batch_stride = p.is_varlen() ? 0 : int64_t(p.heads_q) * seq;
      a.lse_head_stride = seq;
      a.lse_seq_stride = 1;
    }
    if (v_sum == nullptr || a.lse == nullptr) return "Hopper kernel: no scratch memory for masked_rows \"uniform\"";
    cudaError_t e = cudaMemsetAsync(v_sum, 0, bytes, stream);
    if (e != cudaSuccess) return std::string("Hopper kernel: ") + cudaGetErrorString(e);
    const dim3 grid(unsigned((p.seqlen_k + 63) / 64), unsigned(p.heads_kv), unsigned(p.batch));
    SumOverKeys<T, Shape::kD><<<grid, 256, 0, stream>>>(a, static_cast<const T*>(p.v.data), p.v.batch_stride,
                                                         p.v.seq_stride, p.v.head_stride, v_sum);
    e = cudaGetLastError();
    if (e != cudaSuccess) return std::string("Hopper key sum launch: ") + cudaGetErrorString(e);
  }

  constexpr bool kPP = FA_HOPPER_PINGPONG != 0;
  auto kernel = FlashFwdHopper<T, Shape, kPP, false, kExtra>;
  if constexpr (kMaySplit)
    if (a.num_splits > 1) kernel = FlashFwdHopper<T, Shape, kPP, true, kExtra>;
  // Varlen has its own instantiation (no per-key terms: the op has no bias or mask input); not for the
  // two-Q-buffer and three-warpgroup D 128 shapes, which LaunchByDim gives dense calls only.
  constexpr bool kMayVarlen = kExtra != kExtraPerKey && Shape::kQBuffers == 1 && Shape::kOverlap;
  if constexpr (kMayVarlen)
    if (p.is_varlen()) kernel = FlashFwdHopper<T, Shape, kPP, false, kExtra, true>;
  static std::once_flag once;
  static cudaError_t attr_err = cudaSuccess;
  std::call_once(once, [&] {
    attr_err = cudaFuncSetAttribute(FlashFwdHopper<T, Shape, kPP, false, kExtra>,
                                    cudaFuncAttributeMaxDynamicSharedMemorySize, Shape::kSmemBytes);
    if constexpr (kMaySplit)
      if (attr_err == cudaSuccess)
        attr_err = cudaFuncSetAttribute(FlashFwdHopper<T, Shape, kPP, true, kExtra>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, Shape::kSmemBytes);
    if constexpr (kMayVarlen)
      if (attr_err == cudaSuccess)
        attr_err = cudaFuncSetAttribute(FlashFwdHopper<T, Shape, kPP, false, kExtra, true>,
                                        cudaFuncAttributeMaxDynamicSharedMemorySize, Shape::kSmemBytes);
  });
  if (attr_err != cudaSuccess) return std::string("Hopper kernel: ") + cudaGetErrorString(attr_err);
  kernel<<<grid, Shape::kThreads, Shape::kSmemBytes, stream>>>(tq, tk, tv, to, a);
  cudaError_t launch = cudaGetLastError();
  if (launch != cudaSuccess) return std::string("Hopper kernel launch: ") + cudaGetErrorString(launch);
  if (a.num_splits > 1) {
    const int64_t rows = int64_t(p.batch) * p.heads_q * p.seqlen_q;
    CombineSplits<T, Shape::kD><<<unsigned((rows + 3) / 4), 128, 0, stream>>>(a);
    launch = cudaGetLastError();
    if (launch != cudaSuccess) return std::string("Hopper combine launch: ") + cudaGetErrorString(launch);
  }
  if (fill_uniform) {
    const int64_t rows = int64_t(p.batch) * p.heads_q * p.seqlen_q;
    FillMaskedRows<T, Shape::kD><<<unsigned((rows + 3) / 4), 128, 0, stream>>>(a, v_sum);
    launch = cudaGetLastError();
    if (launch != cudaSuccess) return std::string("Hopper masked-row fill launch: ") + cudaGetErrorString(launch);
  }
  return {};
}

// A dense call whose block_m-row tiles give every SM one or more (so the launch does not split the keys):
// the shapes without a split or varlen instantiation take only such calls.
bool DenseTilePerSm(const AttentionParams& p, int block_m) {
  static const int sms = SmCount();
  const int64_t tiles = int64_t((p.seqlen_q + block_m - 1) / block_m) * p.heads_q * p.batch;
  return !p.is_varlen() && tiles >= sms;
}

// Two Q buffers pay where tiles are short (few key blocks, so the tile edges weigh) and measured
// 1-2% slower on long key ranges (bench/RESULTS.md), so plain dense calls on up to
// max_sk keys with a tile per SM or more (no split) take them.
bool WantTwoQBuffers(const AttentionParams& p, int block_m, int max_sk) {
  return p.seqlen_k <= max_sk && DenseTilePerSm(p, block_m);
}

template <typename T, int kExtra>
std::string LaunchByDim(const AttentionParams& p, cudaStream_t stream, Scratch& scratch) {
  constexpr bool kPlain = kExtra == kExtraNone;
  switch (p.head_dim) {
    case 64:
      // Short causal/windowed D 64: 128-row tiles waste less on the diagonal than 192-row ones (level at
      // S <= 1024, and three warpgroups +14% at S 2048: FA_HOPPER_D64_SHORT_CAUSAL_MAX_SQ); elsewhere
      // three consumer warpgroups win (8-13% at S >= 2k).
      if (EffectiveWindow(p.window_right, p) >= 0 && p.seqlen_q <= FA_HOPPER_D64_SHORT_CAUSAL_MAX_SQ) {
        if constexpr (kPlain)
          if (WantTwoQBuffers(p, 128, FA_HOPPER_D64_Q2_MAX_SK))
            return Launch<T, FwdShape<64, 128, 4, 2, 2>, kExtra>(p, stream, scratch);
        return Launch<T, FwdShape<64, 128, 4, 2>, kExtra>(p, stream, scratch);
      }
      // With a per-element bias or mask, two warpgroups: three leave 128 registers a thread, too
      // few (ptxas spills); per key, FA_HOPPER_D64_EXTRA_WGS.
      if constexpr (kPlain) {
        if (WantTwoQBuffers(p, 64 * FA_HOPPER_D64_WGS, FA_HOPPER_D64_Q2_MAX_SK))
          return Launch<T, FwdShape<64, 128, 4, FA_HOPPER_D64_WGS, 2>, kExtra>(p, stream, scratch);
        return Launch<T, FwdShape<64, 128, 4, FA_HOPPER_D64_WGS>, kExtra>(p, stream, scratch);
      }
      else if constexpr (kExtra == kExtraPerKey)
        return Launch<T, FwdShape<64, 128, 4, FA_HOPPER_D64_EXTRA_WGS>, kExtra>(p, stream, scratch);
      else
        return Launch<T, FwdShape<64, 128, 4, 2>, kExtra>(p, stream, scratch);
    case 128:
      // A build with FA_HOPPER_D128_BN > 128 takes wider key blocks only for the plain kernel without
      // windows on long keys with a tile per SM or more: the bias/mask code reads 128-key blocks (4
      // keys a lane), causal tiles waste more keys on the diagonal, short key ranges measured slower
      // and the split instantiation spills at 176.
      if constexpr (kExtra == kExtraNone && FA_HOPPER_D128_BN != 128) {
        if (EffectiveWindow(p.window_left, p) < 0 && EffectiveWindow(p.window_right, p) < 0 &&
            p.seqlen_k >= FA_HOPPER_D128_WIDE_MIN_SK && DenseTilePerSm(p, 128))
          return Launch<T, FwdShape<128, FA_HOPPER_D128_BN, 2>, kExtra>(p, stream, scratch);
      }
      if constexpr (kPlain)
        if (WantTwoQBuffers(p, 128, FA_HOPPER_Q2_MAX_SK))
          return Launch<T, FwdShape<128, 128, 2, 2, 2>, kExtra>(p, stream, scratch);
#if FA_HOPPER_D128_WGS == 3
      // No right window (causal only by flag); dense only (the shape has no varlen instantiation).
      if constexpr (kPlain) {
        const int64_t rows192 = (int64_t(p.seqlen_q) + 191) / 192 * 192, rows128 = (int64_t(p.seqlen_q) + 127) / 128 * 128;
        const bool wgs3_keys = p.seqlen_k >= FA_HOPPER_D128_WGS3_MIN_SK || (p.seqlen_k > FA_HOPPER_Q2_MAX_SK && rows192 <= rows128);
        if (wgs3_keys && DenseTilePerSm(p, 192) &&
            (FA_HOPPER_D128_WGS3_CAUSAL || EffectiveWindow(p.window_right, p) < 0))
          return Launch<T, FwdShape<128, 128, 2, 3, 1, false>, kExtra>(p, stream, scratch);
      }
#endif
      return Launch<T, FwdShape<128, 128, 2>, kExtra>(p, stream, scratch);
    case 256: return Launch<T, FwdShape<256, FA_HOPPER_D256_BN, 2>, kExtra>(p, stream, scratch);
    default: return "Hopper kernel: head dim not 64/128/256";
  }
}

template <typename T>
std::string LaunchByExtra(const AttentionParams& p, cudaStream_t stream, Scratch& scratch) {
  switch (ExtraMode(p)) {
    case kExtraNone: return LaunchByDim<T, kExtraNone>(p, stream, scratch);
    case kExtraPerKey: return LaunchByDim<T, kExtraPerKey>(p, stream, scratch);
    default: return LaunchByDim<T, kExtraPerElement>(p, stream, scratch);
  }
}

}  // namespace

std::string Unsupported(const AttentionParams& params) {
  std::string why = KernelLimits(params);
  if (!why.empty()) return why;
  return EnabledGate(params);
}

std::string Run(const AttentionParams& params, void* stream, Scratch& scratch) {
  std::string why = KernelLimits(params);
  if (!why.empty()) return why;
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  return params.dtype == DType::kBFloat16 ? LaunchByExtra<__nv_bfloat16>(params, s, scratch)
                                             : LaunchByExtra<__half>(params, s, scratch);
}

}  // namespace fa_onnx::cuda::hopper

#ifdef FA_HOPPER_TRACE
// The timeline buffer (flash_fwd.cuh) for test/gpu/hopper/trace.py: clear before a launch, read after.
extern "C" int fa_hopper_trace(void* host, size_t bytes, int clear) {
  namespace h = fa_onnx::cuda::hopper;
  constexpr size_t kWords = size_t(h::kTraceCtas) * 4 * h::kTraceTiles * h::kTraceEvents;
  bytes = bytes < kWords * 8 ? bytes : kWords * 8;
  if (clear) {
    static unsigned long long zeros[kWords] = {};
    return int(cudaMemcpyToSymbol(h::g_trace, zeros, sizeof(zeros)));
  }
  using h::g_trace;
  return int(cudaMemcpyFromSymbol(host, g_trace, bytes));
}
#endif
