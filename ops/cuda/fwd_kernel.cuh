// The portable forward kernel (FlashAttention-2 style, sm80+), one CTA per (query block, head,
// batch[, key split]). Each warp owns 16 or 32 query rows; scores and the output accumulate in fp32
// registers; K and V tiles stream through shared memory with cp.async: with two stages (plain kernel,
// D <= 128) the next tile's K and V load while this tile computes, with one stage K of the next tile
// loads while this tile's P·V runs and V while Q·Kᵀ runs.
//
// Compile-time: element type, head dim, converted-load path (fp32/FP8 inputs). Everything else
// (causal, window, bias, mask, ALiBi, softcap, paging, varlen, splits) is a runtime branch that is
// uniform over the CTA, so the instantiation count stays at 3 per head dim and kernel (plus D 256's
// small-shared-memory fallback).
//
// Memory safety: lengths and offsets read from device memory (key_lengths, cache lengths,
// cu_seqlens, block tables) are clamped to [0, the size the params declare] before use, so a bad
// value never makes the kernel read or write outside the declared tensors (see README.md).
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "fa_onnx/attention_params.h"
#include "tile.cuh"

#ifndef FA_ONNX_CUDA_FWD_MT
#define FA_ONNX_CUDA_FWD_MT 0  // plain-kernel tile shapes (see plain_shape): 0 the tuned default, others for comparisons
#endif
#ifndef FA_ONNX_CUDA_FWD_QK_UNROLL
#define FA_ONNX_CUDA_FWD_QK_UNROLL 2  // Q·Kᵀ steps unrolled when Q is re-read from shared memory (default shapes, general kernel, fp32/FP8 inputs)
#endif
#ifndef FA_ONNX_CUDA_FWD_SHORT_QK_UNROLL
#define FA_ONNX_CUDA_FWD_SHORT_QK_UNROLL 8  // the same for the short shapes with Q in shared memory (D 256), fp16/bf16 inputs
#endif
#ifndef FA_ONNX_CUDA_FWD_LONG_QK_UNROLL
#define FA_ONNX_CUDA_FWD_LONG_QK_UNROLL 8  // the same for the D 128 long shape, fp16/bf16 inputs (8: all of its steps)
#endif
#ifndef FA_ONNX_CUDA_FWD_STAGES
#define FA_ONNX_CUDA_FWD_STAGES 2  // plain kernel: K/V buffers (2: a tile's loads are issued one tile ahead)
#endif
#ifndef FA_ONNX_CUDA_FWD_STAGED_O
#define FA_ONNX_CUDA_FWD_STAGED_O 1  // output staged through shared memory and stored in 16-byte chunks (see the epilogue)
#endif
#ifndef FA_ONNX_CUDA_FWD_FAST_Q
#define FA_ONNX_CUDA_FWD_FAST_Q 1  // Q tile copied like K/V (fixed column per thread) when the head is full width
#endif
#ifndef FA_ONNX_CUDA_FWD_SHORT
#define FA_ONNX_CUDA_FWD_SHORT 1  // plain kernel, D 64/128/256: 1 short-sequence shape by keys per row (short_shape), 0 never, 2 always
#endif
#ifndef FA_ONNX_CUDA_FWD_SHORT256_KEYS
#define FA_ONNX_CUDA_FWD_SHORT256_KEYS 8192  // plain kernel, D 256: the short-sequence shape up to this many keys per row (0: never)
#endif
#ifndef FA_ONNX_CUDA_FWD_LONG
#define FA_ONNX_CUDA_FWD_LONG 1  // plain kernel, D 128: 1 the long-sequence shape for unwindowed calls with many keys (long_shape), 0 never
#endif
#ifndef FA_ONNX_CUDA_FWD_LONG_KEYS
#define FA_ONNX_CUDA_FWD_LONG_KEYS 512  // plain kernel, D 128: the long-sequence shape from this many keys (see long_shape)
#endif
#ifndef FA_ONNX_CUDA_FWD_LONG_STAGES
#define FA_ONNX_CUDA_FWD_LONG_STAGES 2  // plain kernel, D 128 long-sequence shape: K/V stages (1: FlashAttention-2's flow; for comparisons)
#endif
#ifndef FA_ONNX_CUDA_FWD_SHORT128
#define FA_ONNX_CUDA_FWD_SHORT128 0  // plain kernel, D 128 short-sequence shape: 0 Q in registers, 2 stages, 2 CTAs/SM; 1 Q in shared memory, 1 stage, 3 CTAs/SM; 2 the same with Q in registers (for comparisons)
#endif
#ifndef FA_ONNX_CUDA_FWD_LEAN
#define FA_ONNX_CUDA_FWD_LEAN 3  // fewer registers live through the key loop (fragment addressing, loop state; see the kernel): 3 plain kernel and general kernel below D 256, 1 plain kernel only, 2 plain and general everywhere, 0 neither
#endif
#ifndef FA_ONNX_CUDA_FWD_LAZY
#define FA_ONNX_CUDA_FWD_LAZY 8  // plain kernel: lazy O rescaling, a row's reference max moves only when a tile exceeds it by more than this (log2 units; 0: every tile)
#endif
#ifndef FA_ONNX_CUDA_FWD_UNSWITCH
#define FA_ONNX_CUDA_FWD_UNSWITCH 2  // the key loop in two copies, fixed-column K/V copy or generic loader, chosen once per CTA (see the loop): 2 the D 128 long shape only, 1 every kernel, 0 none
#endif
#ifndef FA_ONNX_CUDA_FWD_LONG_SUBN
#define FA_ONNX_CUDA_FWD_LONG_SUBN 32  // plain kernel, D 128 long shape: keys per score block (sub-tile of the 64-key K/V tile; 0: the whole tile)
#endif
#ifndef FA_ONNX_CUDA_FWD_FOLD
#define FA_ONNX_CUDA_FWD_FOLD 1  // plain kernel: softmax scale folded into the exponent's FMA (see the softmax)
#endif

namespace fa_onnx::cuda {

// One tile shape: m16 tiles per warp (kMT), warps, keys per tile, Q fragments in registers (else
// re-read from shared memory for every key tile), CTAs per SM the register budget must allow.
struct TileShape {
  int mt, warps, bn;
  bool q_in_regs;
  int min_blocks;
  int max_stages = 2;  // K/V stages at most (FwdConfig::kStages)
};

// The per-block shared-memory opt-in limit of sm86/sm89 (and sm120): 99 KB. Shapes above it (D 256's
// 128 x 64 tiles, 128 KB) have a small-memory fallback instantiation (kSmallSmem) chosen at launch.
constexpr int kSmallSmemLimit = 99 * 1024;

// Plain-kernel shapes. cfg 0 is the default; the others stay buildable for side-by-side timing
// (test/gpu/run.sh FWD_VARIANTS; measured in bench/RESULTS.md, 2026-11-23): 1 = version 1 everywhere
// (8 warps x 16 rows; at D 256 the 64 x 32 tile of 4 warps, also the small-memory fallback), 2 =
// version 2 (4 warps x 32 rows, two CTAs per SM) up to D 128 with 32-key tiles above D 64, 3 =
// FlashAttention-2's sm80-class shapes (version 2 with 128 keys at D 64 and 64 at D 128: both spill
// here), 4 = 128-key tiles with Q in registers at D 64, two 8-warp CTAs per SM at D 128 (128 registers:
// spills), 64 x 64 tiles of 4 warps at D 256.
constexpr TileShape plain_shape(int d, int cfg) {
  if (cfg == 1) return d <= 64 ? TileShape{1, 8, 128, true, 1} : d <= 128 ? TileShape{1, 8, 64, true, 1}
                     : d <= 192 ? TileShape{1, 8, 64, false, 1} : TileShape{1, 4, 32, false, 1};
  if (cfg == 2) return d <= 64 ? TileShape{2, 4, 64, d <= 32, 2} : d <= 128 ? TileShape{2, 4, 32, false, 2}
                     : plain_shape(d, 0);
  if (cfg == 3) return d <= 64 ? TileShape{2, 4, 128, d <= 32, 2} : d <= 128 ? TileShape{2, 4, 64, false, 2}
                     : plain_shape(d, 0);
  if (cfg == 4) return d <= 64 ? TileShape{2, 4, 128, d <= 64, 2} : d <= 128 ? TileShape{1, 8, 64, false, 2}
                     : d <= 192 ? TileShape{1, 8, 64, false, 1} : TileShape{1, 4, 64, false, 2};
  // 0: the default, the fastest per head dim on the H100 (bench/RESULTS.md, 2026-11-23): version 2
  // with 64-key tiles up to D 64, version 1 with 64-key tiles above, and at D 256 FlashAttention-2's
  // 128 x 64 tile over 8 warps (about 2x the 64 x 32 tile of 4 warps it replaced; 128 KB of shared
  // memory, so sm86/sm89 take the fallback).
  return d <= 64 ? plain_shape(d, 2) : d <= 192 ? plain_shape(d, 1) : TileShape{1, 8, 64, false, 1};
}

// Plain-kernel shapes for calls with few keys per query row (short sequences, causal), at D 64, 128
// and 256: 64 x 64 tiles of 4 warps x 16 rows, Q in registers (D 64, 128) or re-read from shared
// memory (D 256), three (D 64) or two (D 128, 256) CTAs per SM, where the default shapes hold two and
// one. Each CTA's fixed costs (Q and first K/V loads, the epilogue) then overlap with another CTA's key
// loop. Measured on the anchors grid (H100, bench/RESULTS.md, 2026-11-23 ~13:00 and ~14:35): faster up
// to about 2048 keys per row at D 64 and 8192 at D 128 and 256 (causal most), slower beyond (at D 64
// each K/V fragment then feeds one MMA instead of two). At D 256 this is FlashAttention-2's H100 tile.
// short_keys: the largest average number of keys per query row that takes the short shape (0: none).
struct ShortShape {
  TileShape shape;
  int short_keys;
};
constexpr ShortShape short_shape(int d) {
  if (d == 64) return {TileShape{1, 4, 64, true, 3}, 2048};
  // FA_ONNX_CUDA_FWD_SHORT128=1/2: three CTAs per SM (168 registers: both spill), measured 2-14% slower
  // from 1024 to 8192 keys, level or up to 6% faster at 512 (bench/RESULTS.md, 2026-11-23 about 16:05).
  if (d == 128) return {FA_ONNX_CUDA_FWD_SHORT128 == 1   ? TileShape{1, 4, 64, false, 3, 1}
                        : FA_ONNX_CUDA_FWD_SHORT128 == 2 ? TileShape{1, 4, 64, true, 3, 1}
                                                         : TileShape{1, 4, 64, true, 2}, 8192};
  // D 256: 96 KB of shared memory (one K/V stage), so it also fits sm86/sm89.
  if (d == 256) return {TileShape{1, 4, 64, false, 2}, FA_ONNX_CUDA_FWD_SHORT256_KEYS};
  return {TileShape{1, 8, 64, true, 1}, 0};
}

// Plain-kernel shape for calls without a causal or sliding window whose rows see many keys, at D 128:
// FlashAttention-2's tile, 4 warps x 32 rows (each K/V fragment feeds two MMAs, half the shared-memory
// reads per FLOP of 16 rows per warp), 64-key tiles, Q re-read from shared memory, two CTAs per SM.
// Measured (H100, bench/RESULTS.md, 2026-11-23 ~14:30): 4-11% ahead of the short and default shapes
// from 4096 keys per row without causal, 3-18% behind with causal (where the short shape's 64-row blocks
// run); from 512 keys since 22:45 (long_shape). At 255 registers it spills (ptxas, sm_90: 120 bytes stored, 196
// loaded when measured; 24 / 28 since the lazy rescale), which the timing includes. Since 2026-11-23
// 18:50 it scores 32-key blocks (FwdConfig::kSubN; 254 registers, 40 / 88 bytes, +3-4% from 4096 keys).
// long_keys: the fewest keys per row (all of Sk: no window) that take it (0: none).
struct LongShape {
  TileShape shape;
  int long_keys;
};
constexpr LongShape long_shape(int d) {
  // From 512 keys (was 4096): graph-timed, three alternating rounds on an H100, +3% (512), +7-8% (1024) and
  // +5% / level (2048, bf16 / fp16) against the short shape (bench/RESULTS.md, 2026-11-23 about 22:45; the
  // single-launch timing of 16:05 had read level to 7% slower). LONG_STAGES=1 (FlashAttention-2's single K/V
  // buffer; spills more) was slower at nearly every length (16:05-16:15).
  if (d == 128) return {TileShape{2, 4, 64, false, 2, FA_ONNX_CUDA_FWD_LONG_STAGES}, FA_ONNX_CUDA_FWD_LONG_KEYS};
  return {TileShape{1, 8, 64, true, 1}, 0};
}

// General-kernel shapes (bias/mask/ALiBi/softcap), which hold a tile's bias and mask values in
// registers: version 1's layout, 64-key tiles at D <= 64 (128 would spill) and 32-key tiles at D
// 160-192, Q fragments re-read from shared memory above D = 64.
constexpr TileShape general_shape(int d) {
  return d <= 64 ? TileShape{1, 8, 64, true, 1} : d <= 128 ? TileShape{1, 8, 64, false, 1}
       : d <= 192 ? TileShape{1, 8, 32, false, 1} : TileShape{1, 4, 32, false, 1};
}

// Which plain shape an instantiation has: the head dim's default, the small-shared-memory fallback
// (sm86/sm89, plain D 256), the short-sequence shape (D 64 and 128) or the long-sequence one (D 128).
enum FwdVariant : int { kMainShape = 0, kSmallSmemShape = 1, kShortShape = 2, kLongShape = 3 };

template <int kD, bool kGeneral = false, int kVar = kMainShape>
struct FwdConfig {
  static constexpr int kDPad = (kD + 31) / 32 * 32;  // shared-memory row width (swizzle needs 32k)
  static constexpr int kChunks = kDPad / 8;          // 16-byte chunks per shared row
  static constexpr int kLoadChunks = kD / 8;         // chunks per row actually copied
  static constexpr bool kSmallSmem = !kGeneral && kVar == kSmallSmemShape;
  static constexpr TileShape kShape = kGeneral                ? general_shape(kD)
                                      : kSmallSmem            ? plain_shape(kD, 1)
                                      : kVar == kShortShape   ? short_shape(kD).shape
                                      : kVar == kLongShape    ? long_shape(kD).shape
                                                              : plain_shape(kD, FA_ONNX_CUDA_FWD_MT);
  static constexpr int kMT = kShape.mt;       // m16 tiles per warp: each K/V fragment feeds kMT MMAs
  static constexpr int kWarps = kShape.warps;
  static constexpr int kBM = kWarps * 16 * kMT;  // query rows per CTA
  static constexpr int kBN = kShape.bn;          // keys per tile
  static constexpr int kThreads = kWarps * 32;
  static constexpr bool kQInRegs = kShape.q_in_regs;
  static constexpr int kMinBlocks = kShape.min_blocks;
  // K/V stages: 2 (plain kernel, FA_ONNX_CUDA_FWD_STAGES=2) where the buffers stay within 96 KB. The
  // small-memory fallback keeps one: it is the shape that ran on a GPU that way (only Hopper here).
  static constexpr int kStages =
      !kGeneral && !kSmallSmem && FA_ONNX_CUDA_FWD_STAGES == 2 && kShape.max_stages == 2 && (kBM + 4 * kBN) * kDPad * 2 <= 96 * 1024 ? 2 : 1;
  static constexpr int kSmemBytes = (kBM + 2 * kStages * kBN) * kDPad * 2;
  static constexpr bool kNeedsSmallFallback = kSmemBytes > kSmallSmemLimit;
  // The plain kernel's short-sequence shape exists for this head dim (default shapes only; 0 turns it off).
  static constexpr bool kHasShort = !kGeneral && FA_ONNX_CUDA_FWD_MT == 0 && FA_ONNX_CUDA_FWD_SHORT != 0 && short_shape(kD).short_keys > 0;
  // The long-sequence shape (D 128; FA_ONNX_CUDA_FWD_LONG=0 turns it off).
  static constexpr bool kHasLong = !kGeneral && FA_ONNX_CUDA_FWD_MT == 0 && FA_ONNX_CUDA_FWD_LONG != 0 && long_shape(kD).long_keys > 0;
  // Q·Kᵀ steps unrolled (macros do not expand in pragmas): all of them with Q in registers; with Q in shared
  // memory FA_ONNX_CUDA_FWD_QK_UNROLL (2), except in the short (D 256) and long (D 128) shapes for native
  // fp16/bf16 inputs (kQKUnrollNative, chosen in the kernel), which take 8: ptxas then loads each step's
  // fragments during the step before across the whole loop (with 2, each turn of the rolled loop starts with
  // loads that its first MMAs wait for), without spilling at D 256 (254 registers) and with 60 / 112 bytes of
  // spill stores / loads in the long shape (40 / 88 with 2). Measured +0.4 to +3% at D 256 causal 1024-8192
  // keys and +0.6 to +5.6% at the long shape's points (bench/RESULTS.md, 2026-11-23 about 19:50-20:02). The
  // fp32/FP8-input long shape would spill (36 / 52 bytes, none with 2; not timed), so converted inputs keep 2,
  // and so does the long shape below sm_90 (see the kernel).
  static constexpr int kQKUnroll = kQInRegs ? kD / 16 : FA_ONNX_CUDA_FWD_QK_UNROLL;
  static constexpr int kQKUnrollNative = kQInRegs ? kD / 16
                                         : !kGeneral && kVar == kLongShape  ? FA_ONNX_CUDA_FWD_LONG_QK_UNROLL
                                         : !kGeneral && kVar == kShortShape ? FA_ONNX_CUDA_FWD_SHORT_QK_UNROLL
                                                                            : FA_ONNX_CUDA_FWD_QK_UNROLL;
  // Lean loop state and fragment addressing (FA_ONNX_CUDA_FWD_LEAN), and the K/V copy with alternating
  // row swizzles (4 warps at D 256). The general kernel takes them below D 256 (measured +1 to +8% at D
  // 64, 96, 128, bench/RESULTS.md 2026-11-23 about 16:05); at D 256 they made it spill more (ptxas,
  // sm_90: 28 -> 36 bytes stored, fp32/FP8 inputs 24 -> 58), so it keeps the previous code there.
  static constexpr bool kLean = FA_ONNX_CUDA_FWD_LEAN == 2 || (FA_ONNX_CUDA_FWD_LEAN == 1 && !kGeneral) ||
                                (FA_ONNX_CUDA_FWD_LEAN == 3 && (!kGeneral || kD < 256));
  // Scale folded into exp2's FMA (plain kernel; the general kernel adds its terms to scaled scores).
  static constexpr bool kFoldScale = !kGeneral && FA_ONNX_CUDA_FWD_FOLD != 0;
  // Lazy O rescaling (see the softmax): plain kernel (measured there, bench/RESULTS.md 2026-11-23 about
  // 16:15; the general kernel keeps a rescale per tile).
  static constexpr int kLazyRescale = kGeneral ? 0 : FA_ONNX_CUDA_FWD_LAZY;
  // Keys per score block: Q·Kᵀ, softmax and P·V run on kSubN keys at a time, kBN / kSubN blocks per K/V
  // tile (one barrier per tile still). The D 128 long shape (32 rows per warp) scores 32 keys at a time:
  // with 128 O and 64 score registers per thread a 64-key block left Q·Kᵀ about 16 registers for
  // fragments (SASS: each K fragment loaded into the registers the previous one just left, the MMAs
  // waiting on it) and the softmax and P·V 69 register moves per tile; 32 keys halve the score
  // registers (7 moves) and cost twice the Q fragment reads (96 ldmatrix per 256 MMAs instead of 80).
  // Measured +3 to +4% bf16 (fp16 -1 to +8%) at 4096-16384 keys against the better of two main columns
  // (bench/RESULTS.md, 2026-11-23 about 18:30-18:40). Needs two
  // stages (the next tile's K must not overwrite this one's while the second block runs) and the lean
  // addressing; not the general kernel (its bias/mask registers are per tile).
  static constexpr int kSubN = !kGeneral && kLean && kStages == 2 && kVar == kLongShape && FA_ONNX_CUDA_FWD_LONG_SUBN > 0 &&
                                       kBN % FA_ONNX_CUDA_FWD_LONG_SUBN == 0 && FA_ONNX_CUDA_FWD_LONG_SUBN % 16 == 0
                                   ? FA_ONNX_CUDA_FWD_LONG_SUBN
                                   : kBN;
};

// A compile-time bool as a value (the key loop's K/V copy path, FA_ONNX_CUDA_FWD_UNSWITCH).
template <bool B>
struct BoolTag {
  __host__ __device__ constexpr operator bool() const { return B; }
};

// Key splitting (decode, small batch·heads): partial results go to fp32 scratch, combined later.
struct SplitArgs {
  int num_splits = 1;
  float* o_partial = nullptr;    // [splits][B][Hq][Sq][Dv]
  float* lse_partial = nullptr;  // [splits][B][Hq][Sq], log2 units
};

// Where one batch item's rows live, and how many keys can take part (all clamped).
struct SeqInfo {
  int q_start, k_start;  // token offsets along the seq axis (varlen), else 0
  int len_q, len_k;      // query rows; keys that can take part (key_lengths / cache lengths)
  int offset;            // pos_q(i) = i + offset (alignment)
  int n_uniform;         // keys averaged by masked_rows="uniform"
};

__device__ __forceinline__ int clampi(int x, int lo, int hi) { return x < lo ? lo : (x > hi ? hi : x); }

__device__ __forceinline__ SeqInfo seq_info(const AttentionParams& p, int b) {
  SeqInfo s;
  int len_k_align;
  if (p.cu_seqlens_q != nullptr) {
    // Offset + length stays inside the packed tensors (total_q/total_k tokens).
    const int q0 = clampi(p.cu_seqlens_q[b], 0, p.total_q), k0 = clampi(p.cu_seqlens_k[b], 0, p.total_k);
    s.q_start = q0;
    s.k_start = k0;
    s.len_q = clampi(p.cu_seqlens_q[b + 1] - q0, 0, min(p.seqlen_q, p.total_q - q0));
    s.len_k = clampi(p.cu_seqlens_k[b + 1] - k0, 0, min(p.seqlen_k, p.total_k - k0));
    len_k_align = s.len_k;
    s.n_uniform = s.len_k;
  } else {
    s.q_start = s.k_start = 0;
    s.len_q = p.seqlen_q;
    if (p.cache_lengths != nullptr) {
      s.len_k = clampi(p.cache_lengths[b] + p.cache_new_tokens, 0, p.seqlen_k);
      len_k_align = s.len_k;
      s.n_uniform = s.len_k;
    } else {
      s.len_k = p.key_lengths != nullptr ? clampi(p.key_lengths[b], 0, p.seqlen_k) : p.seqlen_k;
      len_k_align = p.seqlen_k;  // key padding does not move the alignment
      s.n_uniform = p.seqlen_k;
    }
  }
  s.offset = p.bottom_right ? len_k_align - s.len_q : 0;
  return s;
}

// Element offset of key/value row j of batch item b, kv head hk (contiguous or paged).
__device__ __forceinline__ int64_t kv_row(const AttentionParams& p, const TensorView& t, int b, int hk, int k_start,
                                          int j) {
  if (p.block_table != nullptr) {
    const int blk = max(p.block_table[b * p.block_table_batch_stride + j / p.block_size], 0);
    return blk * t.batch_stride + int64_t(j % p.block_size) * t.seq_stride + hk * t.head_stride;
  }
  return b * t.batch_stride + int64_t(k_start + j) * t.seq_stride + hk * t.head_stride;
}

__device__ __forceinline__ float v_descale_of(const AttentionParams& p, int b, int hk) {
  return p.v_descale ? p.v_descale[b * p.descale_batch_stride + hk * p.descale_head_stride] : 1.f;
}

// The output of a row no key takes part in (masked_rows), for column `col`.
__device__ inline float masked_row_value(const AttentionParams& p, const SeqInfo& si, int b, int hk, int col) {
  if (p.masked_rows == MaskedRows::kNaN) return __int_as_float(0x7fc00000);
  if (p.masked_rows == MaskedRows::kZero || si.n_uniform <= 0) return 0.f;
  float sum = 0.f;  // uniform: mean of v over all key positions of this item (rare; plain loop)
  for (int j = 0; j < si.n_uniform; ++j) sum += tile::load_as_float(p.v.data, kv_row(p, p.v, b, hk, si.k_start, j) + col, p.dtype);
  return sum / si.n_uniform * v_descale_of(p, b, hk);
}

// Stores two adjacent output elements (row offset e) in the output dtype.
template <typename T, bool kConvert>
__device__ __forceinline__ void store_pair(const AttentionParams& p, int64_t e, float x, float y) {
  if constexpr (!kConvert) {
    *reinterpret_cast<uint32_t*>(static_cast<T*>(p.o.data) + e) = tile::pack2<T>(x, y);
  } else if (p.dtype == DType::kFloat32) {
    *reinterpret_cast<float2*>(static_cast<float*>(p.o.data) + e) = make_float2(x, y);
  } else {  // FP8 in, bfloat16 out
    *reinterpret_cast<uint32_t*>(static_cast<__nv_bfloat16*>(p.o.data) + e) = tile::pack2<__nv_bfloat16>(x, y);
  }
}

// kGeneral: the instantiation for calls with bias, mask, ALiBi or softcap (the "general" path).
// Its per-score work is hoisted into per-row and per-column terms (each row's key range, bias and
// mask row offsets, ALiBi's position), each term is one pass over the score registers, and a tile's
// bias/mask values are loaded into registers during the tile before, so their latency hides behind
// that tile's softmax and P·V. A separate instantiation keeps these registers out of the plain kernel.
template <typename T, int kD, bool kConvert, bool kGeneral, int kVar = kMainShape>
__global__ void __launch_bounds__(FwdConfig<kD, kGeneral, kVar>::kThreads, FwdConfig<kD, kGeneral, kVar>::kMinBlocks)
    fwd_kernel(const AttentionParams p, const SplitArgs sa) {
  using C = FwdConfig<kD, kGeneral, kVar>;
  constexpr int kBM = C::kBM, kBN = C::kBN, kMT = C::kMT, kSN = C::kSubN, kNT = kSN / 8, kDT = kD / 8, kKS = kD / 16;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* sQ = reinterpret_cast<T*>(smem_raw);
  T* sK = sQ + kBM * C::kDPad;               // kStages K tiles, then kStages V tiles
  T* sV = sK + C::kStages * kBN * C::kDPad;

  const int m_block = gridDim.x - 1 - blockIdx.x;  // heaviest (causal) blocks first
  const int h = blockIdx.y;
  // The usual calls (no key split, as many key/value heads as query heads) skip the integer divisions.
  const int b = sa.num_splits == 1 ? int(blockIdx.z) : int(blockIdx.z) / sa.num_splits;
  const int split = sa.num_splits == 1 ? 0 : int(blockIdx.z) - b * sa.num_splits;
  const int hk = p.heads_q == p.heads_kv ? h : h / (p.heads_q / p.heads_kv);
  const SeqInfo si = seq_info(p, b);
  const int m0 = m_block * kBM;
  if (m0 >= si.len_q) return;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
  const int wl = p.window_left, wr = p.window_right;
  // Head dims below the instantiation's kD run with zero-filled columns: only the real 8-element
  // chunks are loaded (the rest are cp.async zero fills), only the real output columns stored.
  const int qk_chunks = p.head_dim / 8, v_chunks = p.head_dim_v / 8, dv = p.head_dim_v;

  // Key tiles this CTA visits: causal / windowed tiles outside every row's range are skipped.
  const int row_lo = m0 + si.offset, row_hi = min(m0 + kBM, si.len_q) - 1 + si.offset;
  int k_lo = 0, k_hi = si.len_k;  // keys [k_lo, k_hi)
  // Window arithmetic in 64 bits: a huge window (e.g. INT_MAX for "none") must not overflow.
  if (wr >= 0) k_hi = int(min(int64_t(k_hi), int64_t(row_hi) + wr + 1));
  if (wl >= 0) k_lo = int(max(int64_t(k_lo), int64_t(row_lo) - wl));
  int n_begin = k_lo / kBN, n_end = k_hi > k_lo ? (k_hi + kBN - 1) / kBN : n_begin;
  if (sa.num_splits > 1) {
    const int per = (n_end - n_begin + sa.num_splits - 1) / sa.num_splits;
    n_begin = min(n_begin + split * per, n_end);
    n_end = min(n_begin + per, n_end);
  }

  float qk_descale = 1.f;
  if (p.q_descale != nullptr) {
    const int64_t di = b * p.descale_batch_stride + hk * p.descale_head_stride;
    qk_descale = p.q_descale[di] * p.k_descale[di];
  }
  const float scale = p.scale * qk_descale;
  constexpr float kLog2e = 1.4426950408889634f;
  const float scale_log2 = scale * kLog2e;
  // Folded scale (plain kernel, positive scale): the row max is taken over the raw scores, and each
  // exponent is one FMA, ex2(s·scale_log2 - max·scale_log2), instead of a multiply pass and a
  // subtract. Otherwise the scores are scaled first and the exponent's factor is 1.
  const bool fold = C::kFoldScale && scale_log2 > 0.f;
  const float exp_mul = fold ? scale_log2 : 1.f;

  auto load_tile = [&](T* s, const TensorView& tv, int row0, int rows, int len, int chunks, bool is_q) {
    for (int idx = tid; idx < rows * C::kLoadChunks; idx += C::kThreads) {
      const int r = idx / C::kLoadChunks, c = idx % C::kLoadChunks, i = row0 + r;
      const bool valid = i < len && c < chunks;
      int64_t e = 0;
      if (valid) {
        e = is_q ? b * tv.batch_stride + int64_t(si.q_start + i) * tv.seq_stride + h * tv.head_stride
                 : kv_row(p, tv, b, hk, si.k_start, i);
        e += c * 8;
      }
      tile::load_chunk<T, kConvert>(s + tile::swizzle<C::kChunks>(r, c) * 8, tv.data, e, valid, p.dtype);
    }
  };

  // K/V tiles, fast path (contiguous cache, full-width heads, native dtype, the common case): each
  // thread copies one fixed 16-byte column of rows r0, r0 + kRowStep, ..., so per tile a chunk costs a
  // compare and one cp.async from a base pointer, with the shared-memory offset an immediate (the
  // swizzle of rows r0 + i·kRowStep is the same when kRowStep is a multiple of 8). The general loader
  // above spends ~40 instructions a chunk on 64-bit index arithmetic and the paged-cache branch
  // (measured: the kernel was issue-bound on it, bench/RESULTS.md 2026-11-23).
  // When kRowStep is 4 mod 8 (4 warps at D 256: 128 threads, 32 chunks a row), the swizzle of rows
  // r0 + i·kRowStep alternates between two values (even and odd i): two base offsets, still immediates.
  constexpr int kRowStep = C::kThreads / C::kLoadChunks;
  constexpr bool kAltRows = C::kLean && kRowStep % 8 == 4 && C::kChunks % 8 == 0;
  constexpr bool kFastKV = !kConvert && C::kThreads % C::kLoadChunks == 0 && (kRowStep % 8 == 0 || kAltRows) &&
                           kBN % kRowStep == 0;
  const bool fast_kv = kFastKV && p.block_table == nullptr && qk_chunks == C::kLoadChunks && v_chunks == C::kLoadChunks;
  const int ld_r0 = tid / C::kLoadChunks, ld_c = tid % C::kLoadChunks;
  const int ld_soff = tile::swizzle<C::kChunks>(ld_r0, ld_c) * 8;  // element offset in a K/V tile
  const int ld_soff1 = kAltRows ? tile::swizzle<C::kChunks>(ld_r0 + kRowStep, ld_c) * 8 - kRowStep * C::kDPad : ld_soff;  // odd i
  constexpr int kRowStepBytes = kRowStep * C::kChunks * 16;  // shared-memory bytes between a thread's rows
  auto row_src = [&](const TensorView& tv) {  // this thread's first chunk (contiguous layout; only used when fast_kv)
    return static_cast<const T*>(tv.data) + b * tv.batch_stride + int64_t(si.k_start + ld_r0) * tv.seq_stride +
           hk * tv.head_stride + ld_c * 8;
  };
  const T* k_src = row_src(p.k);
  const T* v_src = row_src(p.v);
  // fast_c: BoolTag<true> / BoolTag<false> (the path is known at compile time: the loop is unswitched on
  // it), or a runtime bool (fast_kv).
  auto load_kv = [&](T* s, const TensorView& tv, const T* src, int n0, int chunks, auto fast_c) {
    if (kFastKV && bool(fast_c)) {
      const T* at = src + n0 * tv.seq_stride;
      const int64_t step = kRowStep * tv.seq_stride;
      const uint32_t dst0 = tile::smem_addr(s + ld_soff), dst1 = tile::smem_addr(s + ld_soff1);
      if (n0 + kBN <= si.len_k) {  // a full tile: no row checks
        tile::copy_rows<kBN / kRowStep, kRowStep, kRowStepBytes, false>(dst0, dst1, at, step, 0, tv.data);
      } else {  // rows at or past len_k: zero fill, nothing read (the source is then the tensor's start)
        tile::copy_rows<kBN / kRowStep, kRowStep, kRowStepBytes, true>(dst0, dst1, at, step, si.len_k - n0 - ld_r0, tv.data);
      }
    } else {
      load_tile(s, tv, n0, kBN, si.len_k, chunks, false);
    }
  };

  // Per thread: rows (warp row base) + mt*16 + g + 8r for m-tile mt, half r; columns n0 + nt*8 +
  // 2*t4 + e. A row's keys that take part (lengths and window) are the range [jlo, jhi), worked out
  // per row in 64 bits and clamped (on the tiles a bound crosses), so a score needs two compares.
  const int warp_row = warp * 16 * kMT;
  auto row_pos = [&](int mt, int r) { return m0 + warp_row + mt * 16 + g + r * 8 + si.offset; };
  auto key_range = [&](int mt, int r, int& jlo, int& jhi) {
    const int i = m0 + warp_row + mt * 16 + g + r * 8, pos = i + si.offset;
    int64_t lo = 0, hi = si.len_k;
    if (wl >= 0) lo = max(lo, int64_t(pos) - wl);
    if (wr >= 0) hi = min(hi, int64_t(pos) + wr + 1);
    if (i >= si.len_q) hi = 0;
    jlo = int(min(lo, int64_t(si.len_k)));
    jhi = int(max(hi, int64_t(0)));
  };

  // General path state: which features are on (uniform over the CTA), each row's bias/mask offset,
  // and the registers that hold this tile's bias and mask values (pairs of adjacent keys).
  using BiasPair = std::conditional_t<kConvert, float2, uint32_t>;  // fp32 bias with fp32/FP8 inputs, else T x 2
  constexpr int kGMT = kGeneral ? kMT : 1, kGNT = kGeneral ? kNT : 1;
  BiasPair bias_reg[kGMT][2][kGNT];
  uint32_t mask_reg[kGMT][2][(kGNT + 1) / 2];  // byte 4q + 2k + e: key col0 + (2q + k)*8 + e
  int64_t bias_off = 0, mask_off = 0;  // this (b, h)'s offsets; a row adds i * stride[2] (not kept: registers)
  bool has_bias = false, has_mask = false, bias_vec = false, mask_vec = false, bias_bcast = false, mask_bcast = false;
  float slope_log2 = 0.f;
  if constexpr (kGeneral) {
    has_bias = p.bias.data != nullptr;
    has_mask = p.mask.data != nullptr;
    const int64_t* bs = p.bias.stride;
    const int64_t* ms = p.mask.stride;
    // Pair loads need unit column stride and every row start aligned to a pair.
    const size_t bias_pair_bytes = kConvert ? 8 : 4;
    bias_vec = bs[3] == 1 && bs[0] % 2 == 0 && bs[1] % 2 == 0 && bs[2] % 2 == 0 &&
               reinterpret_cast<uintptr_t>(p.bias.data) % bias_pair_bytes == 0;
    mask_vec = ms[3] == 1 && ms[0] % 2 == 0 && ms[1] % 2 == 0 && ms[2] % 2 == 0 &&
               reinterpret_cast<uintptr_t>(p.mask.data) % 2 == 0;
    bias_bcast = bs[2] == 0;  // [B|1, H|1, 1, Sk]: one row shared by every query row (key padding)
    mask_bcast = ms[2] == 0;
    if (p.alibi_slopes) slope_log2 = p.alibi_slopes[b * p.alibi_batch_stride + h] * kLog2e;
    bias_off = b * bs[0] + h * bs[1];
    mask_off = b * ms[0] + h * ms[1];
  }
  auto term_row = [&](int mt, int r) -> int64_t {  // rows past len_q read row len_q - 1 (ignored)
    return min(m0 + warp_row + mt * 16 + g + r * 8, si.len_q - 1);
  };

  // Loads this tile's bias and mask values for keys n0.. into registers; keys at or past len_k are
  // never read. Pair loads where the view allows (and the tile is inside len_k), else element loads.
  auto load_terms = [&](int n0) {
    if constexpr (kGeneral) {
      const int col0 = n0 + t4 * 2;
      const bool full = n0 + kBN <= si.len_k;
      const int lim = si.len_k;
      if (has_bias) {
        const int rows = bias_bcast ? 1 : 2 * kMT;
        if (bias_vec && full) {
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
            for (int r = 0; r < 2; ++r)
#pragma unroll
              for (int nt = 0; nt < kNT; ++nt)
                if (mt * 2 + r < rows) {
                  const int64_t e = bias_off + term_row(mt, r) * p.bias.stride[2] + col0 + nt * 8;
                  if constexpr (kConvert) bias_reg[mt][r][nt] = __ldg(reinterpret_cast<const float2*>(static_cast<const float*>(p.bias.data) + e));
                  else bias_reg[mt][r][nt] = __ldg(reinterpret_cast<const unsigned int*>(static_cast<const T*>(p.bias.data) + e));
                }
        } else {
          const int64_t s3 = p.bias.stride[3];
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
            for (int r = 0; r < 2; ++r)
#pragma unroll
              for (int nt = 0; nt < kNT; ++nt)
                if (mt * 2 + r < rows) {
                  const int j = col0 + nt * 8;
                  const int64_t e = bias_off + term_row(mt, r) * p.bias.stride[2] + j * s3;
                  if constexpr (kConvert) {
                    const float* bp = static_cast<const float*>(p.bias.data);
                    bias_reg[mt][r][nt] = make_float2(j < lim ? __ldg(bp + e) : 0.f, j + 1 < lim ? __ldg(bp + e + s3) : 0.f);
                  } else {
                    const unsigned short* bp = static_cast<const unsigned short*>(p.bias.data);
                    const uint32_t x = j < lim ? __ldg(bp + e) : 0u, y = j + 1 < lim ? __ldg(bp + e + s3) : 0u;
                    bias_reg[mt][r][nt] = x | (y << 16);
                  }
                }
        }
        if (bias_bcast) {
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
            for (int r = 0; r < 2; ++r)
#pragma unroll
              for (int nt = 0; nt < kNT; ++nt) bias_reg[mt][r][nt] = bias_reg[0][0][nt];
        }
      }
      if (has_mask) {
        const int rows = mask_bcast ? 1 : 2 * kMT;
        const unsigned char* mp = static_cast<const unsigned char*>(p.mask.data);
        if (mask_vec && full) {
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
            for (int r = 0; r < 2; ++r)
#pragma unroll
              for (int nt = 0; nt < kNT; ++nt)
                if (mt * 2 + r < rows) {
                  const uint32_t x = __ldg(reinterpret_cast<const unsigned short*>(mp + mask_off + term_row(mt, r) * p.mask.stride[2] + col0 + nt * 8));
                  if (nt % 2 == 0) mask_reg[mt][r][nt / 2] = x;
                  else mask_reg[mt][r][nt / 2] |= x << 16;
                }
        } else {
          const int64_t s3 = p.mask.stride[3];
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
            for (int r = 0; r < 2; ++r)
#pragma unroll
              for (int nt = 0; nt < kNT; ++nt)
                if (mt * 2 + r < rows) {
                  const int j = col0 + nt * 8;
                  const int64_t e = mask_off + term_row(mt, r) * p.mask.stride[2] + j * s3;
                  const uint32_t x = j < lim ? __ldg(mp + e) : 0u, y = j + 1 < lim ? __ldg(mp + e + s3) : 0u;
                  if (nt % 2 == 0) mask_reg[mt][r][nt / 2] = x | (y << 8);
                  else mask_reg[mt][r][nt / 2] |= (x | (y << 8)) << 16;
                }
        }
        if (mask_bcast) {
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
            for (int r = 0; r < 2; ++r)
#pragma unroll
              for (int q = 0; q < kNT / 2; ++q) mask_reg[mt][r][q] = mask_reg[0][0][q];
        }
      }
    }
  };

  // Per thread: rows (warp row base) + mt*16 + g + 8r for m-tile mt, half r.
  float o[kMT][kDT][4];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int d = 0; d < kDT; ++d) o[mt][d][0] = o[mt][d][1] = o[mt][d][2] = o[mt][d][3] = 0.f;
  float row_max[kMT][2], row_sum[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) row_max[mt][0] = row_max[mt][1] = -INFINITY, row_sum[mt][0] = row_sum[mt][1] = 0.f;
  uint32_t qf[C::kQInRegs ? kMT : 1][C::kQInRegs ? kKS : 1][4];

  // Fragment addresses (lane-dependent parts) for ldmatrix.
  const int q_row = warp_row + (lane % 16), q_chunk = lane / 16;
  const int k_row = (lane % 8) + (lane / 16) * 8, k_chunk = (lane / 8) % 2;
  const int v_row = (lane % 8) + ((lane / 8) % 2) * 8, v_chunk = lane / 16;
  // Lean addressing (FA_ONNX_CUDA_FWD_LEAN): the fragment at (row0 + 16i, chunk 2j + c) of a swizzled
  // tile is at byte row0·kRowBytes + 16i·kRowBytes + (w ^ 32j), with w = 16 x swizzle's chunk for j = 0
  // (the swizzle XORs the chunk with row bits that adding 16 rows does not change, and 2j never
  // overlaps c). So each operand keeps one row base and one in-row offset per thread, and a fragment
  // costs an XOR and an immediate offset, not an address register per chunk step.
  constexpr int kRowBytes = C::kChunks * 16;
  const uint32_t q_base = tile::smem_addr(sQ) + q_row * kRowBytes, q_w = (tile::swizzle<C::kChunks>(q_row, q_chunk) - q_row * C::kChunks) * 16;
  const uint32_t k_rb = k_row * kRowBytes, k_w = (tile::swizzle<C::kChunks>(k_row, k_chunk) - k_row * C::kChunks) * 16;
  const uint32_t v_rb = v_row * kRowBytes, v_w = (tile::swizzle<C::kChunks>(v_row, v_chunk) - v_row * C::kChunks) * 16;
  auto q_frag = [&](uint32_t (&a)[4], int mt, int ks) {
    if constexpr (C::kLean) {
      tile::ldmatrix_x4(a, q_base + mt * 16 * kRowBytes + (q_w ^ (32 * ks)));
    } else {
      tile::ldmatrix_x4(a, tile::smem_addr(sQ + tile::swizzle<C::kChunks>(q_row + mt * 16, ks * 2 + q_chunk) * 8));
    }
  };

  // The Q tile through the same fixed-column copy as K/V when the head is full width (Q is never
  // paged): its issue no longer waits behind the generic loader's index arithmetic.
  auto load_q = [&]() {
    if constexpr (kFastKV && FA_ONNX_CUDA_FWD_FAST_Q && kBM % kRowStep == 0) {
      if (qk_chunks == C::kLoadChunks) {
        const T* at = static_cast<const T*>(p.q.data) + b * p.q.batch_stride +
                      int64_t(si.q_start + m0 + ld_r0) * p.q.seq_stride + h * p.q.head_stride + ld_c * 8;
        const int64_t step = kRowStep * p.q.seq_stride;
        tile::copy_rows<kBM / kRowStep, kRowStep, kRowStepBytes, true>(
            tile::smem_addr(sQ + ld_soff), tile::smem_addr(sQ + ld_soff1), at, step, si.len_q - m0 - ld_r0, p.q.data);
        return;
      }
    }
    load_tile(sQ, p.q, m0, kBM, si.len_q, qk_chunks, true);
  };

  if (n_begin < n_end) {
    load_q();
    load_kv(sK, p.k, k_src, n_begin * kBN, qk_chunks, fast_kv);
    if constexpr (C::kStages == 2) load_kv(sV, p.v, v_src, n_begin * kBN, v_chunks, fast_kv);
    tile::cp_async_commit();
  }

  if (n_begin < n_end) load_terms(n_begin * kBN);
  // Lean loop state (FA_ONNX_CUDA_FWD_LEAN): the tiles a bound crosses are n < nb_lo or n >= nb_hi,
  // worked out once here in 64 bits (not per tile from the row range and the window); tile n's K/V
  // buffer is a toggled byte offset (not the parity of n - n_begin); Q fragments held in registers
  // are read once before the loop (not under an n == n_begin test in it).
  int nb_lo = 0, nb_hi = si.len_k / kBN;  // n0 + kBN > len_k  <=>  n >= len_k / kBN
  if (wr >= 0) nb_hi = int(min(int64_t(nb_hi), max(int64_t(row_lo) + wr + 1, int64_t(0)) / kBN));  // n0 + kBN - 1 > row_lo + wr
  if (wl >= 0) nb_lo = int(max(int64_t(row_hi) - wl + kBN - 1, int64_t(0)) / kBN);                 // n0 < row_hi - wl
  uint32_t buf_bytes = 0;  // tile n_begin is in buffer 0
  if constexpr (C::kLean && C::kQInRegs) {
    if (n_begin < n_end) {
      tile::cp_async_wait_all();
      __syncthreads();
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int ks = 0; ks < kKS; ++ks) q_frag(qf[mt][ks], mt, ks);
    }
  }
  // The key loop, instantiated once per K/V copy path where FA_ONNX_CUDA_FWD_UNSWITCH says (default: the D
  // 128 long shape): the fixed-column copy's loop then holds none of the generic loader's values (strides,
  // batch/head offsets, thread index) in registers across the tiles (long shape, ptxas alone: its loop 917
  // instructions a tile instead of 964). In every kernel it was 2-9% slower at D 256 (bench/RESULTS.md,
  // 2026-11-23 about 18:30-18:40). Elsewhere the path stays a runtime branch inside one loop.
  auto key_loop = [&](auto fast_c) {
  for (int n = n_begin; n < n_end; ++n) {
    const int n0 = n * kBN;
    tile::cp_async_wait_all();
    // One stage: K(n) visible, every warp done with V(n-1). Two: K(n) and V(n) visible, every warp
    // done with tile n-1, whose buffers take tile n+1 now (a whole tile's time to land).
    __syncthreads();
    const int buf = !C::kLean && C::kStages == 2 ? ((n - n_begin) & 1) * kBN * C::kDPad
                                                               : int(buf_bytes / sizeof(T));  // tile n_begin is in buffer 0
    [[maybe_unused]] T* const sKn = sK + buf;  // (the lean addressing does not use them)
    [[maybe_unused]] T* const sVn = sV + buf;
    const uint32_t k_tile = tile::smem_addr(sK) + buf_bytes + k_rb, v_tile = tile::smem_addr(sV) + buf_bytes + v_rb;
    if constexpr (C::kLean && C::kStages == 2) buf_bytes ^= kBN * kRowBytes;
    if constexpr (C::kQInRegs && !C::kLean) {
      if (n == n_begin) {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int ks = 0; ks < kKS; ++ks) q_frag(qf[mt][ks], mt, ks);
      }
    }
    if constexpr (C::kStages == 2) {
      if (n + 1 < n_end) {
        const int nbuf = kBN * C::kDPad - buf;
        load_kv(sK + nbuf, p.k, k_src, n0 + kBN, qk_chunks, fast_c);
        load_kv(sV + nbuf, p.v, v_src, n0 + kBN, v_chunks, fast_c);
        tile::cp_async_commit();
      }
    } else {
      load_kv(sV, p.v, v_src, n0, v_chunks, fast_c);
      tile::cp_async_commit();
    }

    // Score blocks of kSN keys (one unless the shape scores sub-tiles: FwdConfig::kSubN).
    // A rolled loop: unrolled, the compiler overlaps the two blocks and the long shape spills more (ptxas,
    // sm_90: 64 / 236 bytes stored / loaded against 40 / 88).
#pragma unroll 1
    for (int sub = 0; sub < kBN / kSN; ++sub) {
    [[maybe_unused]] const uint32_t k_base = k_tile + sub * kSN * kRowBytes, v_base = v_tile + sub * kSN * kRowBytes;
    // S = Q Kᵀ: each K fragment feeds kMT MMAs.
    float s[kMT][kNT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.f;
    // With Q in shared memory nothing is indexed by ks, so the loop need not be unrolled: fully
    // unrolled, the compiler hoists every step's fragment loads and the big shapes spill (how far each
    // shape unrolls: FwdConfig::kQKUnroll).
    // Converted inputs keep FA_ONNX_CUDA_FWD_QK_UNROLL; so does the long shape below sm_90 (ptxas, sm_80: 8
    // steps would spill 76 / 168 bytes against 8 / 40 with 2; no sm80 GPU here to time it).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 900
    constexpr int kQKUnroll = kConvert || kVar == kLongShape ? C::kQKUnroll : C::kQKUnrollNative;
#else
    constexpr int kQKUnroll = kConvert ? C::kQKUnroll : C::kQKUnrollNative;
#endif
#pragma unroll(kQKUnroll)
    for (int ks = 0; ks < kKS; ++ks) {
      uint32_t a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        if constexpr (C::kQInRegs) {
#pragma unroll
          for (int x = 0; x < 4; ++x) a[mt][x] = qf[mt][ks][x];
        } else {
          q_frag(a[mt], mt, ks);
        }
      }
#pragma unroll
      for (int np = 0; np < kNT / 2; ++np) {
        uint32_t kb[4];
        if constexpr (C::kLean) {
          tile::ldmatrix_x4(kb, k_base + np * 16 * kRowBytes + (k_w ^ (32 * ks)));
        } else {
          tile::ldmatrix_x4(kb, tile::smem_addr(sKn + tile::swizzle<C::kChunks>(np * 16 + k_row, ks * 2 + k_chunk) * 8));
        }
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          tile::mma16816<T>(s[mt][2 * np], a[mt], kb[0], kb[1]);
          tile::mma16816<T>(s[mt][2 * np + 1], a[mt], kb[2], kb[3]);
        }
      }
    }

    // Scores into log2 units, then each term as its own pass over the registers (uniform branches
    // per tile, none per score): softcap, bias, ALiBi, mask, and the length/window bounds only on
    // tiles that a bound crosses.
    const bool bound = C::kLean ? (n < nb_lo || n >= nb_hi)
                                             : n0 + kBN > si.len_k || (wr >= 0 && int64_t(n0) + kBN - 1 > int64_t(row_lo) + wr) ||
                                                   (wl >= 0 && int64_t(n0) < int64_t(row_hi) - wl);
    const int col0 = n0 + sub * kSN + t4 * 2;  // this thread's first key; score (nt, e) is key col0 + nt*8 + e
    if (kGeneral && p.softcap > 0.f) {
      const float cap_in = scale / p.softcap, cap_out = p.softcap * kLog2e;
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int x = 0; x < 4; ++x) s[mt][nt][x] = cap_out * tile::tanh_fast(s[mt][nt][x] * cap_in);
    } else if (!fold) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int x = 0; x < 4; ++x) s[mt][nt][x] *= scale_log2;
    }
    if constexpr (kGeneral) {
      if (has_bias) {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int r = 0; r < 2; ++r)
#pragma unroll
            for (int nt = 0; nt < kNT; ++nt) {
              float2 bv;
              if constexpr (kConvert) {
                bv = bias_reg[mt][r][nt];
              } else if constexpr (std::is_same_v<T, __half>) {
                bv = __half22float2(*reinterpret_cast<const __half2*>(&bias_reg[mt][r][nt]));
              } else {
                bv = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&bias_reg[mt][r][nt]));
              }
              s[mt][nt][2 * r] = fmaf(bv.x, kLog2e, s[mt][nt][2 * r]);
              s[mt][nt][2 * r + 1] = fmaf(bv.y, kLog2e, s[mt][nt][2 * r + 1]);
            }
      }
      if (slope_log2 != 0.f) {  // -slope·|pos - j| = -slope·|(pos - col0) - c|, c a constant per score
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int r = 0; r < 2; ++r) {
            const float d0 = float(row_pos(mt, r) - col0);
#pragma unroll
            for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
              for (int e = 0; e < 2; ++e)
                s[mt][nt][2 * r + e] = fmaf(-slope_log2, fabsf(d0 - float(nt * 8 + e)), s[mt][nt][2 * r + e]);
          }
      }
      if (has_mask) {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int r = 0; r < 2; ++r)
#pragma unroll
            for (int nt = 0; nt < kNT; ++nt) {
              const uint32_t m = mask_reg[mt][r][nt / 2] >> ((nt % 2) * 16);
              if ((m & 0xffu) == 0) s[mt][nt][2 * r] = -INFINITY;
              if ((m & 0xff00u) == 0) s[mt][nt][2 * r + 1] = -INFINITY;
            }
      }
    }
    // The next tile's bias and mask values load now, in flight during this tile's softmax and P·V.
    if (kGeneral && n + 1 < n_end) load_terms(n0 + kBN);
    if (bound) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          int jlo, jhi;
          key_range(mt, r, jlo, jhi);
          const int lo = jlo - col0, hi = jhi - col0;  // key col0 + c takes part iff lo <= c < hi
#pragma unroll
          for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const int c = nt * 8 + e;
              if (c < lo || c >= hi) s[mt][nt][2 * r + e] = -INFINITY;
            }
        }
    }

    if constexpr (C::kStages == 1) {
      tile::cp_async_wait_all();
      __syncthreads();  // V(n) visible; every warp is done with K(n)
      if (n + 1 < n_end) {
        load_kv(sK, p.k, k_src, n0 + kBN, qk_chunks, fast_c);
        tile::cp_async_commit();
      }
    }

    // Online softmax per row; a quad of lanes shares a row.
    // Row r of m-tile mt: the scores become exp2(s·exp_mul - m_use) in place; returns their sum (this
    // thread's columns).
    auto exp_row = [&](int mt, int r, float m_use) {
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt) {
        s[mt][nt][2 * r] = tile::exp2_approx(fmaf(s[mt][nt][2 * r], exp_mul, -m_use));
        s[mt][nt][2 * r + 1] = tile::exp2_approx(fmaf(s[mt][nt][2 * r + 1], exp_mul, -m_use));
        sum += s[mt][nt][2 * r] + s[mt][nt][2 * r + 1];
      }
      return sum;
    };
    if constexpr (C::kLazyRescale > 0) {
      // Lazy rescaling: a row keeps its reference max until a tile's max exceeds it by more than
      // kLazyRescale (log2 units), so exponents stay below 2^kLazyRescale (fp32 sums, and P in fp16/bf16,
      // hold that), and the warp rescales O only when one of its rows moves its max. The result is the
      // same up to rounding: O and the row sum share the reference, and the LSE adds it back.
      float tmx[kMT][2];
      bool grow = false;
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          float mx = s[mt][0][2 * r];
#pragma unroll
          for (int nt = 0; nt < kNT; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * r], s[mt][nt][2 * r + 1]));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
          mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
          tmx[mt][r] = mx * exp_mul;
          grow |= tmx[mt][r] > row_max[mt][r] + float(C::kLazyRescale);  // -inf + c stays -inf: a first finite tile grows
        }
      if (__any_sync(0xffffffffu, grow)) {  // uniform over the warp: the O rescale is skipped as a whole
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int r = 0; r < 2; ++r) {
            const float mx = fmaxf(row_max[mt][r], tmx[mt][r]);
            const float alpha = tile::exp2_approx(row_max[mt][r] - (mx == -INFINITY ? 0.f : mx));
            row_max[mt][r] = mx;
            row_sum[mt][r] *= alpha;
#pragma unroll
            for (int d = 0; d < kDT; ++d) {
              o[mt][d][2 * r] *= alpha;
              o[mt][d][2 * r + 1] *= alpha;
            }
          }
      }
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          const float m_use = row_max[mt][r] == -INFINITY ? 0.f : row_max[mt][r];  // all -inf so far: keep exp2 finite
          row_sum[mt][r] += exp_row(mt, r, m_use);
        }
    } else {
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float mx = s[mt][0][2 * r];  // this tile's max, in the scores' units (raw when folded)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * r], s[mt][nt][2 * r + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        mx = fmaxf(row_max[mt][r], mx * exp_mul);  // running max, log2 units
        const float m_use = mx == -INFINITY ? 0.f : mx;  // all -inf so far: keep exp2 finite
        const float alpha = tile::exp2_approx(row_max[mt][r] - m_use);
        row_max[mt][r] = mx;
        const float sum = exp_row(mt, r, m_use);
        row_sum[mt][r] = row_sum[mt][r] * alpha + sum;
#pragma unroll
        for (int d = 0; d < kDT; ++d) {
          o[mt][d][2 * r] *= alpha;
          o[mt][d][2 * r + 1] *= alpha;
        }
      }
    }

    // O += P V (P re-packed from the score accumulators, no shared-memory round trip); each V
    // fragment feeds kMT MMAs.
#pragma unroll
    for (int kk = 0; kk < kSN / 16; ++kk) {
      uint32_t a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        a[mt][0] = tile::pack2<T>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
        a[mt][1] = tile::pack2<T>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
        a[mt][2] = tile::pack2<T>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
        a[mt][3] = tile::pack2<T>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < kD / 16; ++dp) {
        uint32_t vb[4];
        if constexpr (C::kLean) {
          tile::ldmatrix_x4_trans(vb, v_base + kk * 16 * kRowBytes + (v_w ^ (32 * dp)));
        } else {
          tile::ldmatrix_x4_trans(vb, tile::smem_addr(sVn + tile::swizzle<C::kChunks>(kk * 16 + v_row, dp * 2 + v_chunk) * 8));
        }
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          tile::mma16816<T>(o[mt][2 * dp], a[mt], vb[0], vb[1]);
          tile::mma16816<T>(o[mt][2 * dp + 1], a[mt], vb[2], vb[3]);
        }
      }
    }
    }  // score blocks
  }

  };
  if constexpr (kFastKV && (FA_ONNX_CUDA_FWD_UNSWITCH == 1 || (FA_ONNX_CUDA_FWD_UNSWITCH == 2 && kVar == kLongShape))) {
    if (fast_kv) key_loop(BoolTag<true>{});
    else key_loop(BoolTag<false>{});
  } else {
    key_loop(fast_kv);
  }

  // Epilogue: finish the row sums across the quad, normalise, write O (and LSE).
  const float v_scale = v_descale_of(p, b, hk);
  // Staged output (native dtype, no key split, 16-byte aligned output rows): each warp puts its
  // normalised rows into its own rows of the Q tile (no other warp reads them), then copies them out
  // in 16-byte chunks, so one store instruction covers whole rows. Pair stores straight from the
  // accumulators touch 8 rows' partial sectors per instruction, and with one CTA per SM nothing
  // overlaps that tail.
  const bool staged = FA_ONNX_CUDA_FWD_STAGED_O && !kConvert && sa.num_splits == 1 &&
                      (reinterpret_cast<uintptr_t>(p.o.data) & 15) == 0 &&
                      ((p.o.batch_stride | p.o.seq_stride | p.o.head_stride) & 7) == 0;
  T* const sO = sQ;
  // Row sums over the quad, each row's log-sum-exp (log2 units) and its scale.
  float inv[kMT][2];  // split partials are stored unscaled by v_descale
  bool has_empty = false;  // a row of this thread inside the sequence that no key took part in
  const bool need_lse = sa.num_splits > 1 || p.lse != nullptr;  // else no log2 per row
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float sum = row_sum[mt][r];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const int i = m0 + warp_row + mt * 16 + g + r * 8;
      const bool empty = !(sum > 0.f);
      has_empty |= empty && i < si.len_q;
      inv[mt][r] = empty ? 0.f : (sa.num_splits > 1 ? 1.f : v_scale) / sum;
      // From here on row_sum holds the log-sum-exp (log2 units; -inf for a row without keys, +inf when
      // unneeded, so that "empty" below still reads it).
      row_sum[mt][r] = empty ? -INFINITY : need_lse ? row_max[mt][r] + log2f(sum) : INFINITY;
      if (sa.num_splits == 1 && p.lse != nullptr && t4 == 0 && i < si.len_q)
        p.lse[b * p.lse_batch_stride + h * p.lse_head_stride + int64_t(si.q_start + i) * p.lse_seq_stride] =
            row_sum[mt][r] * 0.6931471805599453f;
    }
  if (staged) {
    // Every row of the warp's own part of the Q tile, without a branch per store: rows past the
    // sequence are written and never copied out, rows without keys are written as zeros and then
    // overwritten below. This thread's rows are g mod 8 (warp_row, mt * 16 and r * 8 are multiples of 8),
    // so one swizzle mask serves them all.
    __syncwarp();  // this warp's Q fragment reads are done before its rows are overwritten
    T* const row0 = sO + (warp_row + g) * C::kChunks * 8 + t4 * 2;
    const int sw = tile::swizzle_mask<C::kChunks>(g);
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int r = 0; r < 2; ++r)
#pragma unroll
        for (int d = 0; d < kDT; ++d)
          *reinterpret_cast<uint32_t*>(row0 + (mt * 16 + r * 8) * C::kChunks * 8 + (d ^ sw) * 8) =
              tile::pack2<T>(o[mt][d][2 * r] * inv[mt][r], o[mt][d][2 * r + 1] * inv[mt][r]);
  }
  if (__any_sync(0xffffffffu, has_empty) || !staged) {  // rare with staging: rows without keys, split partials
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int row = warp_row + mt * 16 + g + r * 8, i = m0 + row;
        if (i >= si.len_q) continue;
        const bool empty = row_sum[mt][r] == -INFINITY;
        if (sa.num_splits > 1) {  // dense only: index by (split, b, h, i)
          const int64_t prow = ((int64_t(split) * p.batch + b) * p.heads_q + h) * p.seqlen_q + i;
#pragma unroll
          for (int d = 0; d < kDT; ++d)
            if (d * 8 + t4 * 2 < dv)
              *reinterpret_cast<float2*>(sa.o_partial + prow * dv + d * 8 + t4 * 2) =
                  make_float2(o[mt][d][2 * r] * inv[mt][r], o[mt][d][2 * r + 1] * inv[mt][r]);
          if (t4 == 0) sa.lse_partial[prow] = row_sum[mt][r];
          continue;
        }
        const int64_t oe = b * p.o.batch_stride + int64_t(si.q_start + i) * p.o.seq_stride + h * p.o.head_stride;
        if (empty) {  // a rolled loop: the masked-row value (a loop over keys itself) is inlined once, not per column
#pragma unroll 1
          for (int col = t4 * 2; col < dv; col += 8) {
            const float x = masked_row_value(p, si, b, hk, col), y = masked_row_value(p, si, b, hk, col + 1);
            if (staged) {
              *reinterpret_cast<uint32_t*>(sO + tile::swizzle<C::kChunks>(row, col / 8) * 8 + col % 8) = tile::pack2<T>(x, y);
            } else {
              store_pair<T, kConvert>(p, oe + col, x, y);
            }
          }
        } else if (!staged) {
#pragma unroll
          for (int d = 0; d < kDT; ++d) {
            const int col = d * 8 + t4 * 2;
            if (col < dv) store_pair<T, kConvert>(p, oe + col, o[mt][d][2 * r] * inv[mt][r], o[mt][d][2 * r + 1] * inv[mt][r]);
          }
        }
      }
  }
  if constexpr (!kConvert) {
    if (staged) {
      __syncwarp();
      // Each lane copies one column chunk of every (32 / chunks per row)-th row: the row's global and
      // shared addresses step by constants.
      constexpr int kRows = 16 * kMT, kLoad = C::kLoadChunks;
      if constexpr (32 % kLoad == 0) {
        constexpr int kRowStep = 32 / kLoad;
        const int c = lane % kLoad, r0 = lane / kLoad;
        T* dst = static_cast<T*>(p.o.data) + b * p.o.batch_stride + int64_t(si.q_start + m0 + warp_row + r0) * p.o.seq_stride +
                 h * p.o.head_stride + c * 8;
        const int64_t dst_step = int64_t(kRowStep) * p.o.seq_stride;
        const int rows_left = si.len_q - (m0 + warp_row + r0);  // rows of this lane's first row on
        if (c < v_chunks) {
#pragma unroll
          for (int k = 0; k < kRows / kRowStep; ++k, dst += dst_step)
            if (k * kRowStep < rows_left)
              *reinterpret_cast<uint4*>(dst) =
                  *reinterpret_cast<const uint4*>(sO + tile::swizzle<C::kChunks>(warp_row + r0 + k * kRowStep, c) * 8);
        }
      } else {
#pragma unroll
        for (int idx = lane; idx < kRows * kLoad; idx += 32) {
          const int row = warp_row + idx / kLoad, c = idx % kLoad, i = m0 + row;
          if (i < si.len_q && c < v_chunks) {
            T* dst = static_cast<T*>(p.o.data) + b * p.o.batch_stride + int64_t(si.q_start + i) * p.o.seq_stride +
                     h * p.o.head_stride + c * 8;
            *reinterpret_cast<uint4*>(dst) = *reinterpret_cast<const uint4*>(sO + tile::swizzle<C::kChunks>(row, c) * 8);
          }
        }
      }
    }
  }
}

// Whether a plain call takes the head dim's short-sequence shape: the keys of the middle query row
// (window, causal alignment) stand for the average keys per row.
template <int kD>
inline bool use_short_shape(const AttentionParams& p) {
  if constexpr (!FwdConfig<kD>::kHasShort) {
    return false;
  } else {
    if (FA_ONNX_CUDA_FWD_SHORT == 2) return true;
    const int64_t pos = int64_t(p.seqlen_q) / 2 + (p.bottom_right ? int64_t(p.seqlen_k) - p.seqlen_q : 0);
    int64_t hi = p.seqlen_k, lo = 0;
    if (p.window_right >= 0) hi = std::min<int64_t>(hi, pos + p.window_right + 1);
    if (p.window_left >= 0) lo = std::max<int64_t>(lo, pos - p.window_left);
    return hi - lo <= short_shape(kD).short_keys;
  }
}

// Whether a plain call takes the head dim's long-sequence shape: no causal or sliding window, more than
// one short-shape block of query rows (not decode), and at least long_keys keys.
template <int kD>
inline bool use_long_shape(const AttentionParams& p) {
  if constexpr (!FwdConfig<kD>::kHasLong) {
    return false;
  } else {
    return p.window_left < 0 && p.window_right < 0 && p.seqlen_q > 64 && p.seqlen_k >= long_shape(kD).long_keys;
  }
}

// The current device's per-block shared-memory opt-in limit (cached; dispatch.cu).
int device_smem_optin();

// Which shape of the head dim's kernel a call runs on: the small-shared-memory fallback where the
// device's limit is below the default's need (sm86/sm89), the long-sequence shape for unwindowed plain
// calls with many keys, the short-sequence shape for plain calls with few keys per row, else the default. One choice for launch_variant and the dispatch's key-split sizing.
template <int kD, bool kGeneral>
inline int shape_variant(const AttentionParams& p) {
  if constexpr (FwdConfig<kD, kGeneral>::kNeedsSmallFallback)
    if (device_smem_optin() < FwdConfig<kD, kGeneral>::kSmemBytes) return kSmallSmemShape;
  if constexpr (FwdConfig<kD, kGeneral>::kHasLong)
    if (use_long_shape<kD>(p)) return kLongShape;
  if constexpr (FwdConfig<kD, kGeneral>::kHasShort)
    if (use_short_shape<kD>(p)) return kShortShape;
  return kMainShape;
}

// Host side: launches one instantiation (defined in fwd_launch.cuh, instantiated in one file per head
// dim and kernel: fwd_hdim<D>.cu plain, fwd_hdim<D>_general.cu general, so the build runs in parallel).
template <typename T, int kD, bool kConvert, bool kGeneral>
cudaError_t launch_variant(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream);

// The plain kernel, or the general one when any of bias, mask, ALiBi or softcap is on.
inline bool needs_general(const AttentionParams& p) {
  return p.bias.data != nullptr || p.mask.data != nullptr || p.alibi_slopes != nullptr || p.softcap > 0.f;
}
template <typename T, int kD, bool kConvert>
cudaError_t launch_fwd(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream) {
  return needs_general(p) ? launch_variant<T, kD, kConvert, true>(p, sa, stream) : launch_variant<T, kD, kConvert, false>(p, sa, stream);
}

}  // namespace fa_onnx::cuda
