// The Hopper forward kernel: one persistent CTA per SM, one producer and two (or three) consumer
// warpgroups.
//   warpgroup 0: producer. One thread issues TMA loads of Q (once per tile) and of K/V blocks into a
//                kStages-deep ring of shared-memory slots; mbarriers say when a slot is full/empty.
//   warpgroups 1..: consumers. Each owns 64 of the tile's query rows: S = Q·Kᵀ by wgmma from
//                shared memory, online softmax in registers (exp2, scale folded into one FMA), then
//                O += P·V by wgmma with P straight from registers. The next block's Q·Kᵀ is issued
//                before this block's P·V, so softmax runs while the tensor cores work (except the
//                three-warpgroup D 128 shape: FwdShape::kOverlap).
// Tiles are (batch, head, 64·consumers-row query block), handed out longest first by an atomic
// counter; the consumers take turns issuing GEMMs (ping-pong); the output leaves through shared
// memory in 16-byte stores. With fewer tiles than SMs, each tile's keys are split and CombineSplits
// (end of this file) merges the partial results.
#pragma once

#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>
#include <type_traits>

#include "primitives.cuh"

namespace fa_onnx::cuda::hopper {

struct FwdArgs {
  int batch, heads_q, heads_kv, group;
  int seqlen_q, seqlen_k;
  int num_m_blocks, num_tiles;
  int heads_per_group;   // (batch, head) pairs whose K/V share L2 at a time
  int* tile_counter;     // dynamic scheduler (zeroed before launch), or null: static round robin
  float scale_log2;                     // scale · log2(e)
  float softcap_in, softcap_out;        // softcap: s ← tanh(s·in)·out, out = softcap·log2(e)
  // Windows: -1 = unbounded. The host turns a window that reaches past every key into -1, so
  // pos ± window stays far inside 32 bits (a window of INT_MAX would otherwise wrap).
  int window_left, window_right, diag;  // diag: pos_q(i) - i (Sk - Sq when bottom-right); dense only
  const int32_t* key_lengths;
  // Additive bias (T) and boolean mask (1 byte, nonzero = attend), broadcast to [B, Hq, Sq, Sk] by
  // element strides; null when absent. Which kernel reads them is the template's kExtra.
  const uint16_t* bias;
  int64_t bias_stride[4];
  const uint8_t* mask;
  int64_t mask_stride[4];
  // Per key: whole 4-byte words can be read (each (b, h) row 4-byte aligned, keys contiguous).
  bool bias_vec, mask_vec;
  // Per-key mask: the first and one past the last admitted key of each (b, h) row of the mask,
  // [rows][2], written by MaskKeyRange before the kernel; rows indexed b·key_range_heads + h, with
  // b (h) taken as 0 when the mask is broadcast over batch (heads). Null: no trimming.
  const int* key_range;
  int key_range_heads;
  bool key_range_by_batch;
  const float* alibi_slopes;  // [Hq] or [B, Hq] (batch stride), null when absent; read by kExtra kernels
  int64_t alibi_batch_stride;
  void* o;
  int64_t o_batch_stride, o_seq_stride, o_head_stride;
  float* lse;
  int64_t lse_batch_stride, lse_head_stride, lse_seq_stride;
  // Split over the keys (few tiles for the SMs): each tile's key blocks are cut into num_splits
  // ranges; each writes its normalised output and log2-sum-exp here, CombineSplits merges them.
  int num_splits;
  float* o_partial;    // [num_splits][batch][heads_q][seqlen_q][D]
  float* lse_partial;  // [num_splits][batch][heads_q][seqlen_q], log2 units
  // Varlen (the kVarlen kernels): sequence b owns query tokens cu_seqlens_q[b] .. [b+1] - 1 of the
  // packed tensors (tensor maps with batch extent 1 over total_q / total_k tokens); seqlen_q/k are
  // the longest sequences (max_seqlen). Alignment (diag) is per sequence, from bottom_right.
  const int32_t* cu_seqlens_q;
  const int32_t* cu_seqlens_k;
  int total_q, total_k;
  bool bottom_right;
};

// 1: each row's softmax sum comes from the tensor cores, P times a tile of ones (an m64n8 wgmma beside each
// P·V step), instead of one add per score in the softmax. Only in the three-warpgroup D 64 kernel, whose
// time is the softmax's instruction stream (bench/RESULTS.md, Hopper, 22:00-22:20): +3.0-3.4% there at
// S 1024-2048 non-causal, +1.9% causal S 2048, level at longer S; the two-warpgroup D 64 and the D 128
// kernels measured level to 4% slower with it (22:25-22:35 entry).
#ifndef FA_HOPPER_SUM_MMA
#define FA_HOPPER_SUM_MMA 1
#endif

template <int kD_, int kBlockN_, int kStages_, int kConsumers_ = 2, int kQBuffers_ = 1, bool kOverlap_ = true>
struct FwdShape {
  static constexpr int kD = kD_;
  // Intra-warpgroup overlap: the next block's Q·Kᵀ is issued with this block's P·V, so a thread holds
  // S of one block and P of another at once. Without it (three consumer warpgroups at D 128, where
  // 160 registers cannot hold O, S and P together) each warpgroup runs Q·Kᵀ, softmax, P·V in turn,
  // P in S's registers, and the other two warpgroups' GEMMs cover its softmax.
  static constexpr bool kOverlap = kOverlap_;
  static constexpr int kBlockN = kBlockN_;
  static constexpr int kStages = kStages_;
  static constexpr int kConsumers = kConsumers_;  // consumer warpgroups of 64 query rows each
  static constexpr int kBlockM = 64 * kConsumers;
  static constexpr int kThreads = 128 * (kConsumers + 1);
  // Registers after setmaxnreg: the producer keeps few, the consumers share the rest of the 64K.
  static constexpr int kProducerRegs = 24;
  static constexpr int kConsumerRegs = kConsumers == 2 ? 240 : 160;
  static constexpr int kColBlocks = kD / 64;  // 128-byte swizzled column blocks of 64 elements
  static constexpr int kQBytes = kBlockM * kD * 2;
  static constexpr int kKVBytes = kBlockN * kD * 2;
  // Tile slots: 4 ints (the tile index of each Q buffer, varlen's counts), then (D 64 and 128,
  // FA_HOPPER_TILE_FROM_PRODUCER) the decoded Tile of tiles q_iter even and odd, 64 bytes each.
  static constexpr bool kSumByMma = FA_HOPPER_SUM_MMA != 0 && kOverlap && kD == 64 && kConsumers == 3;
  static constexpr int kTileSlotBytes = 16 + (kD <= 128 ? 2 * 64 : 0) + (kSumByMma ? 128 : 0);
  static constexpr int kBarBytes = 8 * (4 + 4 * kStages);
  // Output staging: per consumer warpgroup, kColBlocks 128-byte-swizzled blocks of 64 rows × 64
  // elements, the layout of the Q tile (written by the threads, stored by TMA or read back).
  static constexpr int kOStageBytes = kD * 128;
  static constexpr int Align1024(int bytes) { return (bytes + 1023) / 1024 * 1024; }
  static constexpr int SlotsEnd(int q_buffers) {
    return q_buffers * kQBytes + 2 * kStages * kKVBytes + kBarBytes + kTileSlotBytes;
  }
  static constexpr bool Fits(int q_buffers, bool staged) {  // + 1024: alignment slack of the base
    return Align1024(SlotsEnd(q_buffers)) + (staged ? kConsumers * kOStageBytes : 0) + 1024 <= 227 * 1024;
  }
  // Two Q buffers (when asked for and they fit beside the ring and the staging: D 64 and 128): the
  // producer then loads the next tile's Q (and its first K) while this tile runs, not after its last
  // Q·Kᵀ. The launch asks for them on short key ranges only (hopper_attention.cu).
  static constexpr int kQBuffers = kQBuffers_ == 2 && Fits(2, true) ? 2 : 1;
  static constexpr int kQOffset = 0;
  static constexpr int kKOffset = kQOffset + kQBuffers * kQBytes;
  static constexpr int kVOffset = kKOffset + kStages * kKVBytes;
  static constexpr int kBarOffset = kVOffset + kStages * kKVBytes;
  static constexpr int kTileSlotOffset = kBarOffset + kBarBytes;
  // Staging when it fits beside the ring (on a 1024-byte boundary, for the swizzle); else the epilogue
  // stores from registers.
  static constexpr int kOOffset = Align1024(kTileSlotOffset + kTileSlotBytes);
  // kSumByMma: 128 bytes of ones (one 8 × 16-byte core matrix) after the tile slots, the B operand of the
  // row sums; every core matrix of that operand reads them (strides 0).
  static constexpr int kOnesOffset = kTileSlotOffset + kTileSlotBytes - 128;
  static constexpr bool kStagedEpilogue = Fits(kQBuffers, true);
  static constexpr int kSmemBytes = kOOffset + (kStagedEpilogue ? kConsumers * kOStageBytes : 0) + 1024;
  static_assert(kConsumers == 2 || kConsumers == 3, "two or three consumer warpgroups");
  static_assert(kD % 64 == 0, "head dim must be a multiple of 64");
  static_assert(kBlockN % 16 == 0, "key block must be a multiple of 16");
};

struct Tile {
  int b, h, m_block, n_begin, n_end, seqlen_q, seqlen_k, split;
  int q_offset, k_offset;  // first token of the sequence in the packed tensors (varlen), else 0
  int diag;                // varlen: pos_q(i) - i for this sequence (dense: FwdArgs::diag)
  int batch_coord;         // the tensor maps' batch coordinate: b, or 0 for varlen
};
static_assert(sizeof(Tile) <= 64, "a Tile must fit its shared-memory slot (FwdShape::kTileSlotBytes)");

// Tile slots and output staging through a shared-space pointer (LDS/STS): 2 in all kernels (+2-6% at
// S <= 1024 in the two-warpgroup kernels once the staging addresses were per lane, 23:58 entry), 1 in
// the three-warpgroup kernels only (2-7% faster at D 64), 0 in none (generic loads and stores).
#ifndef FA_HOPPER_SMEM_PTR
#define FA_HOPPER_SMEM_PTR 2
#endif

// 1: the consumers of the D 128 kernels (not the per-element one), and of the D 64 two-Q-buffer ones
// (FA_HOPPER_TILE_FROM_PRODUCER_Q2: +2-11% at S <= 1024), take each tile as the producer decoded it, from
// shared memory; 0: they decode it again, as the other kernels do (holding the copy made ptxas spill
// at D 256 and in the one-Q-buffer three-warpgroup D 64 kernel; the one-Q-buffer two-warpgroup D 64
// kernel measured 3-4% slower with it).
#ifndef FA_HOPPER_TILE_FROM_PRODUCER
#define FA_HOPPER_TILE_FROM_PRODUCER 1
#endif
#ifndef FA_HOPPER_TILE_FROM_PRODUCER_Q2  // also the D 64 two-Q-buffer kernels
#define FA_HOPPER_TILE_FROM_PRODUCER_Q2 1
#endif

// 1: dense, unsplit calls write the output tile by TMA from the swizzled staging buffer (the threads
// move on to the next tile while the copy engine stores); 0: the threads read the staging tile back and
// store 16 bytes each, as varlen does (a box would overrun the sequence into the next one's rows); the
// split writes its fp32 partials from registers.
#ifndef FA_HOPPER_TMA_STORE
#define FA_HOPPER_TMA_STORE 1
#endif

// 1: the overlapped kernels reduce the row sums and wait for the staging tile while the last P·V runs
// (begin_epilogue below); 0: after it, in the epilogue.
#ifndef FA_HOPPER_EARLY_EPILOGUE
#define FA_HOPPER_EARLY_EPILOGUE 1
#endif

// 1: a masked key block's upper half is skipped by the warps whose rows admit none of its keys (softmax,
// below); 0: every element goes through the mask and the exponentials.
#ifndef FA_HOPPER_HALF_SKIP
#define FA_HOPPER_HALF_SKIP 1
#endif

#ifdef FA_HOPPER_TRACE
// Timeline of one launch for test/gpu/hopper/trace.py (build flag only): SM clock cycles per
// [CTA][warpgroup][tile of that CTA][event]; the events are listed where they are recorded.
constexpr int kTraceCtas = 160, kTraceTiles = 64, kTraceEvents = 6;
__device__ unsigned long long g_trace[kTraceCtas * 4 * kTraceTiles * kTraceEvents];
__device__ inline void TraceEvent(int warpgroup, int iter, int event, unsigned long long value) {
  if (threadIdx.x % 128 == 0 && blockIdx.x < kTraceCtas && iter < kTraceTiles)
    g_trace[((blockIdx.x * 4 + warpgroup) * kTraceTiles + iter) * kTraceEvents + event] = value;
}
#define FA_TRACE(warpgroup, iter, event, value) TraceEvent(warpgroup, iter, event, value)
#else
#define FA_TRACE(warpgroup, iter, event, value) ((void)0)
#endif

__device__ inline int64_t FloorDiv(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Sequence b of a varlen batch: its first token and length, clamped so that offset + length stays
// inside the packed tensor (total tokens) and the length at most max_len (the host's max_seqlen):
// the offsets live in device memory, so the host never checked them.
__device__ inline void SeqRange(const int32_t* cu, int b, int total, int max_len, int* offset, int* len) {
  const int lo = min(max(cu[b], 0), total);
  const int64_t n = int64_t(cu[b + 1]) - lo;  // 64 bits: garbage offsets must not wrap
  const int bound = min(max_len, total - lo);
  *offset = lo;
  *len = n < 0 ? 0 : (n > bound ? bound : int(n));
}

// What a kernel instantiation reads besides Q, K, V (a template parameter, so the plain kernel
// carries none of it): nothing; per-key terms (bias/mask broadcast over query rows, stride[2] == 0,
// e.g. a key-padding mask [B|1, 1|H, 1, Sk]: one column vector per key block, shared by all rows);
// per-element terms (any broadcast, read for each of a thread's two rows).
enum : int { kExtraNone = 0, kExtraPerKey = 1, kExtraPerElement = 2 };

// Tile order: groups of (batch, head) pairs small enough for their K/V to stay in L2; inside a group,
// query blocks from the last (the longest under a causal mask) to the first, so that the dynamic
// scheduler hands out long tiles first and short ones fill the gaps at the end.
// kVarlen (a template parameter, so the dense kernels carry none of it): the sequence's offsets,
// lengths and alignment come from cu_seqlens, and the query blocks per sequence (varlen_m_blocks) are
// those of the longest sequence present, found by the kernel at its start.
template <int kBlockM, int kBlockN, bool kSplit, bool kKeyRange, bool kVarlen>
__device__ inline Tile DecodeTile(const FwdArgs& a, int t, int varlen_m_blocks) {
  Tile tile;
  tile.split = 0;
  if constexpr (kSplit) {
    tile.split = t % a.num_splits;
    t /= a.num_splits;
  }
  const int per_group = a.heads_per_group * (kVarlen ? varlen_m_blocks : a.num_m_blocks);
  const int g = t / per_group;
  const int within = t - g * per_group;
  const int group_size = min(a.heads_per_group, a.batch * a.heads_q - g * a.heads_per_group);
  const int m = (kVarlen ? varlen_m_blocks : a.num_m_blocks) - 1 - within / group_size;
  const int bh = g * a.heads_per_group + within % group_size;
  tile.m_block = m;
  tile.b = bh / a.heads_q;
  tile.h = bh % a.heads_q;
  // Dense reads a.seqlen_q and a.diag where they are used, as it did before varlen (same code).
  int sq = a.seqlen_q, sk = a.seqlen_k;
  tile.q_offset = tile.k_offset = 0;
  tile.batch_coord = tile.b;
  if constexpr (kVarlen) {
    SeqRange(a.cu_seqlens_q, tile.b, a.total_q, a.seqlen_q, &tile.q_offset, &sq);
    SeqRange(a.cu_seqlens_k, tile.b, a.total_k, a.seqlen_k, &tile.k_offset, &sk);
    tile.diag = a.bottom_right ? sk - sq : 0;
    tile.batch_coord = 0;
  }
  tile.seqlen_q = sq;
  if (a.key_lengths != nullptr) sk = max(0, min(sk, a.key_lengths[tile.b]));
  int key_lo = 0;
  if (kKeyRange && a.key_range != nullptr) {
    // Keys outside [lo, hi) of a per-key mask are excluded for every row: their blocks are skipped.
    const int* kr = a.key_range + 2 * ((a.key_range_by_batch ? tile.b : 0) * a.key_range_heads +
                                       (a.key_range_heads > 1 ? tile.h : 0));
    key_lo = kr[0];
    sk = min(sk, kr[1]);
  }
  tile.seqlen_k = sk;
  int n_end = (sk + kBlockN - 1) / kBlockN;
  int n_begin = 0;
  const int first_row = m * kBlockM;
  const int last_row = min(first_row + kBlockM, kVarlen ? sq : a.seqlen_q) - 1;
  if (kVarlen && first_row >= sq) n_end = 0;  // a block past its sequence's rows (the producer skips it)
  if (a.window_right >= 0) {
    const int64_t end = FloorDiv(int64_t(last_row) + (kVarlen ? tile.diag : a.diag) + a.window_right, kBlockN) + 1;
    if (end < n_end) n_end = int(end);
  }
  if (a.window_left >= 0) {
    const int64_t begin = FloorDiv(int64_t(first_row) + (kVarlen ? tile.diag : a.diag) - a.window_left, kBlockN);
    if (begin > 0) n_begin = int(begin);
  }
  n_begin = max(n_begin, key_lo / kBlockN);
  if constexpr (kSplit) {
    const int per = (max(0, n_end - n_begin) + a.num_splits - 1) / a.num_splits;
    n_begin += tile.split * per;
    n_end = min(n_end, n_begin + per);
  }
  tile.n_begin = n_begin;
  tile.n_end = n_end;
  return tile;
}

template <typename T, typename Shape, bool kPingPong, bool kSplit, int kExtra, bool kVarlen = false>
__global__ void __launch_bounds__(Shape::kThreads, 1)
    FlashFwdHopper(const __grid_constant__ CUtensorMap tma_q, const __grid_constant__ CUtensorMap tma_k,
                   const __grid_constant__ CUtensorMap tma_v, const __grid_constant__ CUtensorMap tma_o,
                   const FwdArgs args) {
  constexpr int kD = Shape::kD, kBlockM = Shape::kBlockM, kBlockN = Shape::kBlockN;
  constexpr int kStages = Shape::kStages, kColBlocks = Shape::kColBlocks;
  constexpr int kConsumers = Shape::kConsumers;
  constexpr int kConsumerWarps = 4 * kConsumers;
  constexpr int kQBuffers = Shape::kQBuffers;
  static_assert(kExtra == kExtraNone || kBlockN <= 128, "bias/mask code reads at most 128 keys a block");
  static_assert(!kVarlen || (!kSplit && kExtra != kExtraPerKey), "varlen: no split, no per-key terms");

  extern __shared__ __align__(1024) uint8_t smem_raw[];
  // 128-byte swizzle repeats every 1024 bytes: tiles must start on such a boundary.
  uint8_t* smem = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(smem_raw) + 1023) & ~uintptr_t(1023));
  // The same bytes, stepped from smem_raw (not rebuilt from an integer), for the tile slots and the
  // output staging, which threads read and write themselves: the compiler then knows it is shared
  // memory and emits LDS/STS, not generic loads and stores (FA_HOPPER_SMEM_PTR says where). The rest
  // keeps `smem`: the wgmma descriptors built from it were scheduled differently, and the tile index
  // read through it made ptxas spill in the D 256 split kernel.
  const uint32_t smem_pad = uint32_t(reinterpret_cast<uintptr_t>(smem) - reinterpret_cast<uintptr_t>(smem_raw));
  constexpr bool kSharedPointer = FA_HOPPER_SMEM_PTR > 1 || (FA_HOPPER_SMEM_PTR == 1 && kConsumers == 3);
  auto shared_at = [&](uint32_t offset) { return kSharedPointer ? smem_raw + smem_pad + offset : smem + offset; };
  uint8_t* s_q = smem + Shape::kQOffset;
  uint8_t* s_k = smem + Shape::kKOffset;
  uint8_t* s_v = smem + Shape::kVOffset;
  uint64_t* bars = reinterpret_cast<uint64_t*>(smem + Shape::kBarOffset);
  uint64_t* q_full = bars + 0;   // [2]: one per Q buffer
  uint64_t* q_empty = bars + 2;  // [2]
  uint64_t* k_full = bars + 4;
  uint64_t* v_full = k_full + kStages;
  uint64_t* k_empty = v_full + kStages;  // K and V slots are freed separately: K as soon as its
  uint64_t* v_empty = k_empty + kStages;  // Q·Kᵀ is done, so the next K load starts a block earlier
  // [0], [3]: the tile index the producer hands out with Q buffer 0, 1; [1], [2]: varlen's query
  // blocks per sequence and tiles
  volatile int* s_tile = reinterpret_cast<volatile int*>(smem + Shape::kTileSlotOffset);
  // The decoded tile of tile number `iter` of this CTA: written by the producer before its q_full
  // arrival, read by the consumers after their wait. Two slots, so that the producer's next write
  // (after q_empty) never meets a consumer still reading.
  auto tile_slot = [&](int iter) { return reinterpret_cast<Tile*>(shared_at(Shape::kTileSlotOffset + 16 + 64 * (iter & 1))); };
  constexpr bool kTileFromProducer =
      FA_HOPPER_TILE_FROM_PRODUCER && kExtra != kExtraPerElement &&
      ((kConsumers == 2 && kD == 128) || (FA_HOPPER_TILE_FROM_PRODUCER_Q2 && kD == 64 && Shape::kQBuffers == 2));
  constexpr bool kTmaStore = FA_HOPPER_TMA_STORE && Shape::kStagedEpilogue && !kSplit && !kVarlen;
  // Row sums by wgmma (FwdShape::kSumByMma), not in the varlen kernel (ptxas spilled 12 bytes there).
  constexpr bool kSumMma = Shape::kSumByMma && !kVarlen;

  const int warp = threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  // Through a shuffle, so that the compiler knows it is the same in every lane: the Q descriptor then
  // lives in uniform registers, which wgmma reads directly. Not at D 256, where it made ptxas spill.
  const int warpgroup = Shape::kD > 128 ? warp / 4 : __shfl_sync(0xffffffff, warp / 4, 0);

  if (threadIdx.x == 0) {
    for (int b = 0; b < 2; ++b) {
      BarrierInit(&q_full[b], 1);
      BarrierInit(&q_empty[b], kConsumerWarps);
    }
    for (int s = 0; s < kStages; ++s) {
      BarrierInit(&k_full[s], 1);
      BarrierInit(&v_full[s], 1);
      BarrierInit(&k_empty[s], kConsumerWarps);
      BarrierInit(&v_empty[s], kConsumerWarps);
    }
    BarrierInitFence();
  }
  if constexpr (kSumMma) {
    if (warp == 1) {  // the ones of the row-sum operand (async proxy: wgmma reads them)
      const uint32_t one2 = std::is_same_v<T, __half> ? 0x3C003C00u : 0x3F803F80u;
      reinterpret_cast<uint32_t*>(shared_at(Shape::kOnesOffset))[lane] = one2;
      FenceProxyAsync();
    }
  }
  if constexpr (kVarlen) {
    // The host sized the tile space for batch × max_seqlen_q, and without the max_seqlen_q attribute
    // that is the token count: find the longest sequence present, so that only its query blocks are
    // tiles (the producer skips the blocks past shorter sequences).
    if (warp == 1) {
      int longest = 0;
      for (int b = lane; b < args.batch; b += 32) {
        int offset, len;
        SeqRange(args.cu_seqlens_q, b, args.total_q, args.seqlen_q, &offset, &len);
        longest = max(longest, len);
      }
      for (int d = 16; d > 0; d /= 2) longest = max(longest, __shfl_xor_sync(0xffffffff, longest, d));
      if (lane == 0) {
        s_tile[1] = (longest + kBlockM - 1) / kBlockM;
        s_tile[2] = s_tile[1] * args.batch * args.heads_q;
      }
    }
  }
  __syncthreads();
  // Varlen's block and tile counts are read from shared memory where used, not held in registers.
#define FA_NUM_TILES (kVarlen ? s_tile[2] : args.num_tiles)
#define FA_VARLEN_M_BLOCKS (kVarlen ? s_tile[1] : 0)

  if (warpgroup == 0) {
    // ---------------- producer ----------------
    RegistersRelease<Shape::kProducerRegs>();
    if (warp != 0 || !ElectOne()) return;
    TmaPrefetchDescriptor(&tma_q);
    TmaPrefetchDescriptor(&tma_k);
    TmaPrefetchDescriptor(&tma_v);
    int q_iter = 0, kv_iter = 0;
    auto advance = [&](int t) -> int {
      return args.tile_counter != nullptr ? atomicAdd(args.tile_counter, 1) + int(gridDim.x) : t + int(gridDim.x);
    };
    auto next_tile = [&](int t) -> int {
      t = advance(t);
      // Varlen: the tile count assumes every sequence is the longest; blocks past a sequence's rows
      // have nothing to compute or write, so they are skipped here and the consumers never see them.
      if constexpr (kVarlen) {
        while (t < FA_NUM_TILES) {
          const Tile x = DecodeTile<kBlockM, kBlockN, kSplit, false, kVarlen>(args, t, FA_VARLEN_M_BLOCKS);
          if (x.m_block * kBlockM < x.seqlen_q) break;
          t = advance(t);
        }
      }
      return t;
    };
    int t = blockIdx.x;
    if constexpr (kVarlen) {
      if (t < FA_NUM_TILES) {
        const Tile x = DecodeTile<kBlockM, kBlockN, kSplit, false, kVarlen>(args, t, FA_VARLEN_M_BLOCKS);
        if (x.m_block * kBlockM >= x.seqlen_q) t = next_tile(t);
      }
    }
    for (;; ++q_iter) {
      // The tile index travels to the consumers through shared memory, published by the q_full
      // arrival; q_empty says they have read it (and are done with Q).
      // Q buffer qb was last used by tile q_iter - kQBuffers.
      const int qb = kQBuffers == 2 ? q_iter & 1 : 0;
      BarrierWait(&q_empty[qb], ((q_iter / kQBuffers) & 1) ^ 1);
      FA_TRACE(0, q_iter, 0, clock64());  // producer: the Q buffer is free
      s_tile[qb == 0 ? 0 : 3] = t;
      if (t >= FA_NUM_TILES) {
        BarrierArrive(&q_full[qb]);
        break;
      }
      const Tile tile =
          DecodeTile<kBlockM, kBlockN, kSplit, kExtra == kExtraPerKey, kVarlen>(args, t, FA_VARLEN_M_BLOCKS);
      // The consumers would otherwise spend about 700 cycles on the same divisions and loads at each
      // tile's start, while the tensor cores wait (trace.py).
      if constexpr (kTileFromProducer) *tile_slot(q_iter) = tile;
      if (tile.n_begin >= tile.n_end) {
        BarrierArrive(&q_full[qb]);
      } else {
        const int hk = tile.h / args.group;
        BarrierArriveExpectTx(&q_full[qb], Shape::kQBytes);
#pragma unroll
        for (int cb = 0; cb < kColBlocks; ++cb)
          TmaLoad4D(s_q + qb * Shape::kQBytes + cb * kBlockM * 128, &tma_q, &q_full[qb], cb * 64, tile.q_offset + tile.m_block * kBlockM,
                    tile.h, tile.batch_coord);
        // K of block j goes out before V of block j - 1: the consumers need K first (Q·Kᵀ of the
        // next block is issued before P·V of the current one).
        auto load_k = [&](int it, int n) {
          const int stage = it % kStages;
          BarrierWait(&k_empty[stage], ((it / kStages) & 1) ^ 1);
          BarrierArriveExpectTx(&k_full[stage], Shape::kKVBytes);
#pragma unroll
          for (int cb = 0; cb < kColBlocks; ++cb)
            TmaLoad4D(s_k + stage * Shape::kKVBytes + cb * kBlockN * 128, &tma_k, &k_full[stage], cb * 64,
                      tile.k_offset + n * kBlockN, hk, tile.batch_coord);
        };
        auto load_v = [&](int it, int n) {
          const int stage = it % kStages;
          BarrierWait(&v_empty[stage], ((it / kStages) & 1) ^ 1);
          BarrierArriveExpectTx(&v_full[stage], Shape::kKVBytes);
#pragma unroll
          for (int cb = 0; cb < kColBlocks; ++cb)
            TmaLoad4D(s_v + stage * Shape::kKVBytes + cb * kBlockN * 128, &tma_v, &v_full[stage], cb * 64,
                      tile.k_offset + n * kBlockN, hk, tile.batch_coord);
        };
        for (int n = tile.n_end - 1; n >= tile.n_begin; --n, ++kv_iter) {
          load_k(kv_iter, n);
          if (n < tile.n_end - 1) load_v(kv_iter - 1, n + 1);
        }
        load_v(kv_iter - 1, tile.n_begin);
      }
      t = next_tile(t);
    }
    return;
  }

  // ---------------- consumers ----------------
  RegistersClaim<Shape::kConsumerRegs>();
  const int wg = warpgroup - 1;              // which 64-row half of the tile
  // One wgmma descriptor of the shared-memory base, built once; each GEMM steps it to its operand by
  // constant offsets (DescriptorAt). Building a descriptor from a pointer per wgmma cost about nine
  // dependent instructions each on the issue path (ncu source profile, bench/RESULTS.md).
  // At D 256 (O alone takes 128 registers a thread) the live descriptor made ptxas spill, so there
  // each descriptor is still built from its address.
  const uint64_t desc_base = SmemDescriptor(smem, 0, 1024);
  // The ones of the row sums (kSumByMma): no swizzle, both strides 0, so every 8 × 16-byte core matrix
  // of the k16 × n8 operand is the same 128 bytes.
  const uint64_t ones_desc = static_cast<uint64_t>((SmemAddr(smem + Shape::kOnesOffset) & 0x3FFFF) >> 4);
  auto operand = [&](uint32_t offset, uint32_t leading) {
    if constexpr (kD > 128) return SmemDescriptor(smem + offset, leading, 1024);
    else return DescriptorAt(desc_base, offset, leading);
  };
  const uint32_t q_rows_offset = Shape::kQOffset + wg * 64 * 128;  // this warpgroup's Q rows
  const int warp_in_wg = warp % 4;
  const int row_in_wg = warp_in_wg * 16 + lane / 4;  // this thread's rows: row_in_wg and row_in_wg + 8
  const int col_in_chunk = (lane % 4) * 2;           // and columns c·8 + col_in_chunk + {0, 1}
  constexpr int kSRegs = kBlockN / 2;
  constexpr int kORegs = kD / 2;
  constexpr float kRescaleThreshold = 8.0f;  // log2 units: partial sums may grow by up to 2^8
  const bool softcap = args.softcap_in > 0.f;
  const bool has_bias = kExtra != kExtraNone && args.bias != nullptr;
  const bool has_mask = kExtra != kExtraNone && args.mask != nullptr;
  const bool has_alibi = kExtra != kExtraNone && args.alibi_slopes != nullptr;
  // Scores are multiplied into log2 units before the max when a term is added to them (softcap,
  // bias); otherwise the scale folds into the exp2 FMA.
  const float mult = (softcap || has_bias || has_alibi) ? 1.f : args.scale_log2;
  constexpr float kLog2e = 1.4426950408889634f;

  // Ping-pong: the consumer warpgroups take turns issuing their GEMMs (named barriers 1..kConsumers,
  // passed round robin), so one warpgroup's softmax runs while another's GEMMs use the tensor cores.
  // Without the intra-warpgroup overlap (three warpgroups at D 128) the turns measured 5-11% slower than
  // letting the warpgroups issue as they come, and in the two-warpgroup, two-Q-buffer D 64 kernel (causal
  // S <= 1024) 3-5% slower (bench/RESULTS.md, 18:00 and 18:40 entries): those take none.
  constexpr bool kTurns =
      kPingPong && Shape::kOverlap && !(kD == 64 && kConsumers == 2 && kQBuffers == 2);
  auto wait_turn = [&]() {
    if constexpr (kTurns) NamedBarrierSync(1 + wg, 256);
  };
  auto pass_turn = [&]() {
    if constexpr (kTurns) NamedBarrierArrive(1 + (wg + 1) % kConsumers, 256);
  };
  if (wg == kConsumers - 1) pass_turn();  // warpgroup 0 goes first

  // The thread of each warpgroup that issues its TMA output stores (and waits for them: bulk groups
  // belong to the thread that committed them).
  const bool o_store_thread = kTmaStore && threadIdx.x % 128 == 0;
  if (o_store_thread) TmaPrefetchDescriptor(&tma_o);
  int q_iter = 0, kv_iter = 0;
  for (;; ++q_iter) {
    // Through a shuffle, so that the Q descriptor below stays in uniform registers.
    const int qb = kQBuffers == 2 ? __shfl_sync(0xffffffff, q_iter & 1, 0) : 0;
    BarrierWait(&q_full[qb], (q_iter / kQBuffers) & 1);
    FA_TRACE(warpgroup, q_iter, 0, clock64());  // 0: Q of this tile arrived
    const int t = s_tile[qb == 0 ? 0 : 3];
    if (t >= FA_NUM_TILES) {
      if (o_store_thread) TmaStoreWaitRead();  // shared memory must outlive the last store's reads
      break;
    }
    const Tile tile =
        kTileFromProducer
            ? *tile_slot(q_iter)
            : DecodeTile<kBlockM, kBlockN, kSplit, kExtra == kExtraPerKey, kVarlen>(args, t, FA_VARLEN_M_BLOCKS);
    const int row0 = tile.m_block * kBlockM + wg * 64;  // first query row of this warpgroup
    // Dense: read from the arguments where used, as before varlen (the same code, so the same
    // registers); varlen: this tile's sequence.
#define FA_DIAG (kVarlen ? tile.diag : args.diag)
#define FA_SEQLEN_Q (kVarlen ? tile.seqlen_q : args.seqlen_q)
    float o[kORegs];
#pragma unroll
    for (int i = 0; i < kORegs; ++i) o[i] = 0.f;
    float m_run[2] = {-INFINITY, -INFINITY};
    // ALiBi: s -= slope·|pos_q(i) - j|, in log2 units.
    const float alibi_log2 =
        has_alibi ? -args.alibi_slopes[tile.b * args.alibi_batch_stride + tile.h] * kLog2e : 0.f;
    float l_run[2] = {0.f, 0.f};
    // kSumByMma: the row sums as wgmma accumulators (rows r and r + 8, each twice), rescaled with O.
    float lsum[4] = {0.f, 0.f, 0.f, 0.f};
    // The epilogue's first steps, which need neither O nor the last P·V: each row's sum over the quad, its
    // inverse, and (TMA store) the wait until the previous tile's store has read the staging tile. The
    // overlapped kernels take them while the last P·V runs (FA_HOPPER_EARLY_EPILOGUE); else the epilogue.
    float inv[2];
    bool epilogue_begun = false;
    // Each row's full sum and its inverse: the quad's partial sums added, or (kSumByMma) the
    // accumulators, final only once the last P·V is waited for.
    auto finish_sums = [&]() {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        if constexpr (kSumMma) {
          l_run[r] = lsum[2 * r];
        } else {
          l_run[r] += __shfl_xor_sync(0xffffffff, l_run[r], 1);
          l_run[r] += __shfl_xor_sync(0xffffffff, l_run[r], 2);
        }
        inv[r] = l_run[r] > 0.f ? 1.f / l_run[r] : 0.f;
      }
    };
    auto begin_epilogue = [&]() {
      if constexpr (!kSumMma) finish_sums();
      if constexpr (kTmaStore) {
        if (o_store_thread) TmaStoreWaitRead();  // the previous tile's store has read s_o
        NamedBarrierSync(4 + wg, 128);
      }
      epilogue_begun = true;
    };

    auto release = [&](uint64_t* bar) {
      __syncwarp();
      if (lane == 0) BarrierArrive(bar);
    };
    if (tile.n_begin >= tile.n_end) release(&q_empty[qb]);
    if (tile.n_begin < tile.n_end) {
      float s[kSRegs];
      uint32_t p[kBlockN / 16][4];

      // S = Q·Kᵀ for the block in `stage`, issued asynchronously (caller waits).
      auto issue_qk = [&](int stage) {
        const uint32_t k_offset = Shape::kKOffset + stage * Shape::kKVBytes;
        WgmmaFence();
#pragma unroll
        for (int kk = 0; kk < kD / 16; ++kk) {
          const int cb = kk / 4, within = (kk % 4) * 32;
          Wgmma<kBlockN, T>::ss(s, operand(q_rows_offset + qb * Shape::kQBytes + cb * kBlockM * 128 + within, 16),
                                operand(k_offset + cb * kBlockN * 128 + within, 16), kk > 0 ? 1 : 0);
        }
        WgmmaCommit();
      };
      // O += P·V for the block in `stage` (V rows are the reduction axis), P from registers: its own array
      // (pack_p), or without the intra-warpgroup overlap S's registers it was packed into (pack_p_in_s).
      auto issue_pv = [&](int stage) {
        const uint32_t v_offset = Shape::kVOffset + stage * Shape::kKVBytes;
        WgmmaFence();
#pragma unroll
        for (int kk = 0; kk < kBlockN / 16; ++kk) {
          if constexpr (Shape::kOverlap) {
            Wgmma<kD, T>::rs(o, p[kk], operand(v_offset + kk * 16 * 128, kBlockN * 128), 1);
            if constexpr (kSumMma) Wgmma<8, T>::rs(lsum, p[kk], ones_desc, 1);
          } else {
            const uint32_t a[4] = {__float_as_uint(s[4 * kk]), __float_as_uint(s[4 * kk + 1]),
                                   __float_as_uint(s[4 * kk + 2]), __float_as_uint(s[4 * kk + 3])};
            Wgmma<kD, T>::rs(o, a, operand(v_offset + kk * 16 * 128, kBlockN * 128), 1);
          }
        }
        WgmmaCommit();
      };
      // Bias and mask of key block n: loads issued right after the GEMMs (load_extra), so that their
      // latency hides behind them, and consumed in the softmax (take_extra). Keys at or past Sk and
      // rows past Sq are never read (their scores are excluded by the bounds anyway).
      //   per key: lane L reads keys 4L..4L+3 of the mask (coalesced; one 32-bit load when aligned)
      //     and, of the bias, the pairs at keys 2L and 64 + 2L; the softmax spreads them with four
      //     ballots (mask bits) and one shuffle per 8-key chunk (bias pairs) to the lanes that hold
      //     those columns. A handful of registers stay live across the wait.
      //   per element: the mask bits of the warp's 16 rows (4 keys a lane, four ballots a row) are
      //     gathered here; the bias is read in the softmax, pair by pair.
      constexpr int kXRows = kExtra == kExtraPerElement ? 2 : 1;
      uint32_t xmask[kXRows];   // bit 2c + e: column c·8 + col_in_chunk + e of this thread's row(s)
      uint32_t xraw[4];         // per key: the mask bytes of keys 4L..4L+3 (nonzero = attend)
      uint32_t xbias[2];        // per key: bias pairs at keys 2L, 2L + 1 and 64 + 2L, 65 + 2L
      auto load_extra = [&](int n) {
        if constexpr (kExtra == kExtraPerKey) {
          if (has_mask) {
            const int64_t* st = args.mask_stride;
            const uint8_t* base = args.mask + tile.b * st[0] + tile.h * st[1];
            const int j0 = n * kBlockN + 4 * lane;
            if (args.mask_vec && 4 * lane + 3 < kBlockN && j0 + 3 < args.seqlen_k) {
              const uint32_t w = __ldg(reinterpret_cast<const uint32_t*>(base + j0));
#pragma unroll
              for (int k = 0; k < 4; ++k) xraw[k] = (w >> (8 * k)) & 0xFFu;
            } else {
#pragma unroll
              for (int k = 0; k < 4; ++k) {
                const int j = j0 + k;
                xraw[k] = 4 * lane + k < kBlockN && j < args.seqlen_k ? __ldg(base + j * st[3]) : 0u;
              }
            }
          }
          if (has_bias) {
            const int64_t* st = args.bias_stride;
            const uint16_t* base = args.bias + tile.b * st[0] + tile.h * st[1];
#pragma unroll
            for (int h = 0; h < 2; ++h) {
              const int col = h * 64 + 2 * lane, j = n * kBlockN + col;
              uint32_t w = 0;
              if (col < kBlockN) {
                if (args.bias_vec && j + 1 < args.seqlen_k) {
                  w = __ldg(reinterpret_cast<const uint32_t*>(base + j));
                } else {
                  const uint32_t lo = j < args.seqlen_k ? __ldg(base + j * st[3]) : 0u;
                  const uint32_t hi = j + 1 < args.seqlen_k ? __ldg(base + (j + 1) * st[3]) : 0u;
                  w = lo | (hi << 16);
                }
              }
              xbias[h] = w;
            }
          }
        } else if constexpr (kExtra == kExtraPerElement) {
          if (!has_mask) return;
          const int64_t* st = args.mask_stride;
          const uint8_t* head_base = args.mask + tile.b * st[0] + tile.h * st[1];
          const int j0 = n * kBlockN + 4 * lane;
          const int t = lane % 4;
#pragma unroll
          for (int rr = 0; rr < 16; ++rr) {
            const int r = row0 + warp_in_wg * 16 + rr;
            const bool row_ok = r < FA_SEQLEN_Q;
            const uint8_t* base = head_base + int64_t(r) * st[2];
            uint32_t ballot[4];
#pragma unroll
            for (int k = 0; k < 4; ++k) {
              const int j = j0 + k;
              const bool ok = row_ok && 4 * lane + k < kBlockN && j < tile.seqlen_k && __ldg(base + j * st[3]) != 0;
              ballot[k] = __ballot_sync(0xffffffff, ok);
            }
            const uint32_t b0 = (t & 1) ? ballot[2] : ballot[0];
            const uint32_t b1 = (t & 1) ? ballot[3] : ballot[1];
            const uint32_t bits = ((b0 >> (t >> 1)) & 0x55555555u) | (((b1 >> (t >> 1)) & 0x55555555u) << 1);
            if (lane / 4 == rr % 8) xmask[rr / 8] = bits;
          }
        }
      };
      // Column 8c + 2t + e (t = lane % 4) of a block sits in lane 2c + t/2 at byte 2(t % 2) + e of
      // the per-key mask loads: from four ballots (bit L = lane L's byte k), this thread's bits.
      auto mask_bits = [&]() {
        uint32_t ballot[4];
#pragma unroll
        for (int k = 0; k < 4; ++k) ballot[k] = __ballot_sync(0xffffffff, xraw[k] != 0);
        const int t = lane % 4;
        const uint32_t b0 = (t & 1) ? ballot[2] : ballot[0];
        const uint32_t b1 = (t & 1) ? ballot[3] : ballot[1];
        return ((b0 >> (t >> 1)) & 0x55555555u) | (((b1 >> (t >> 1)) & 0x55555555u) << 1);
      };
      // Softcap and masking of S for key block n, then the online-softmax update (S becomes P in
      // fp32). Returns, per row, the factor the output accumulator must be multiplied by (1 when the
      // running max did not move by more than the threshold, which skips most rescaling).
      // may_skip (a std::bool_constant): the upper-half skip below, only where no wgmma is in flight (the
      // first block, whose Q·Kᵀ was waited for): in the steady loop the extra branches left ptxas short of
      // registers for the wgmma pipeline (C7511, spills at D 256 and on three warpgroups).
      auto softmax = [&](int n, float (&scale_o)[2], auto may_skip) {
        // Mask bits first: a block the mask admits whole, or excludes whole, for all of this warp's
        // rows (key padding) needs no per-element test. (Returning early for an excluded block
        // would also skip its exponentials, but makes ptxas spill: 160 bytes at D 128.)
        [[maybe_unused]] bool mask_partial = false, mask_all_out = false;
        if constexpr (kExtra != kExtraNone) {
          if (has_mask) {
            if constexpr (kExtra == kExtraPerKey) xmask[0] = mask_bits();
            constexpr uint32_t kFull = kBlockN / 4 == 32 ? 0xFFFFFFFFu : (1u << (kBlockN / 4)) - 1;
            bool all_in = true, all_out = true;
#pragma unroll
            for (int rr = 0; rr < kXRows; ++rr) {
              all_in = all_in && xmask[rr] == kFull;
              all_out = all_out && xmask[rr] == 0;
            }
            mask_all_out = __all_sync(0xffffffff, all_out);
            mask_partial = !mask_all_out && !__all_sync(0xffffffff, all_in);
          }
        }
        if (softcap) {
#pragma unroll
          for (int i = 0; i < kSRegs; ++i) s[i] = tanhf(s[i] * args.softcap_in) * args.softcap_out;
        }
        if constexpr (kExtra != kExtraNone) {
          // Bias and mask of this block, loaded by load_extra while the GEMMs ran.
          if constexpr (kExtra == kExtraPerKey) {
            if (has_bias && __all_sync(0xffffffff, (xbias[0] | xbias[1]) == 0)) {
              // An all-zero block (the attended part of a key-padding bias): only the scale.
              if (!softcap) {
#pragma unroll
                for (int i = 0; i < kSRegs; ++i) s[i] *= args.scale_log2;
              }
            } else if (has_bias) {
              // Chunk c's pair for this thread (keys 8c + 2t, +1) was read by lane 4(c % 8) + t,
              // into xbias[c / 8].
#pragma unroll
              for (int c = 0; c < kBlockN / 8; ++c) {
                const uint32_t w = __shfl_sync(0xffffffff, xbias[c / 8], 4 * (c % 8) + lane % 4);
#pragma unroll
                for (int x = 0; x < 4; ++x) {
                  const float b = HalfToFloat<T>(w, x % 2) * kLog2e;
                  s[c * 4 + x] = softcap ? s[c * 4 + x] + b : fmaf(s[c * 4 + x], args.scale_log2, b);
                }
              }
            }
          }
          if (kExtra == kExtraPerElement && has_bias) {
            // Read here, pair by pair, rather than ahead: registers are full while P·V runs.
            const int64_t* st = args.bias_stride;
            const uint16_t* head_base = args.bias + tile.b * st[0] + tile.h * st[1];
#pragma unroll
            for (int rr = 0; rr < 2; ++rr) {
              const int r = row0 + row_in_wg + 8 * rr;
              const bool row_ok = r < FA_SEQLEN_Q;
              const uint16_t* base = head_base + int64_t(r) * st[2];
#pragma unroll
              for (int c = 0; c < kBlockN / 8; ++c) {
                const int j = n * kBlockN + c * 8 + col_in_chunk;
                const float b_lo = row_ok && j < tile.seqlen_k ? HalfToFloat<T>(__ldg(base + j * st[3]), 0) : 0.f;
                const float b_hi = row_ok && j + 1 < tile.seqlen_k ? HalfToFloat<T>(__ldg(base + (j + 1) * st[3]), 0) : 0.f;
#pragma unroll
                for (int x = 0; x < 4; ++x) {
                  if (x / 2 != rr) continue;
                  const int i = c * 4 + x;
                  const float b = (x % 2 ? b_hi : b_lo) * kLog2e;
                  s[i] = softcap ? s[i] + b : fmaf(s[i], args.scale_log2, b);
                }
              }
            }
          }
          if (has_alibi) {
            // pos_q(i) - j = (row + diag - col0 - col_in_chunk) - (8c + e): one add per element
            // (exact in float below 2^24).
            const bool scaled = softcap || has_bias;
            float d0[2];
#pragma unroll
            for (int rr = 0; rr < 2; ++rr)
              d0[rr] = float(row0 + row_in_wg + 8 * rr + FA_DIAG - n * kBlockN - col_in_chunk);
#pragma unroll
            for (int i = 0; i < kSRegs; ++i) {
              const float a = fabsf(d0[(i % 4) / 2] - float((i / 4) * 8 + i % 2)) * alibi_log2;
              s[i] = scaled ? s[i] + a : fmaf(s[i], args.scale_log2, a);
            }
          }
          if (mask_all_out) {
#pragma unroll
            for (int i = 0; i < kSRegs; ++i) s[i] = -INFINITY;
          }
          if (mask_partial) {
#pragma unroll
            for (int i = 0; i < kSRegs; ++i)
              if (((xmask[kXRows == 2 ? (i % 4) / 2 : 0] >> ((i / 4) * 2 + i % 2)) & 1u) == 0) s[i] = -INFINITY;
          }
        }
        // 32-bit bounds: the host gives windows below Sq + Sk and Sq + Sk < 2^29 (hopper_attention.cu).
        const int col0 = n * kBlockN;
        const bool need_mask =
            col0 + kBlockN > tile.seqlen_k ||
            (args.window_right >= 0 && col0 + kBlockN - 1 > row0 + FA_DIAG + args.window_right) ||
            (args.window_left >= 0 && col0 < row0 + 63 + FA_DIAG - args.window_left);
        // Whether any row of this warp admits a key in the upper half of the block (elements kHalf..): when
        // none does (on the causal diagonal, the tile's first warps; a last block of fewer than half a
        // block of keys), that half's masking, row max and exponentials are skipped and its P is zero, which
        // frees issue slots for the other warpgroup's warp on the same SM sub-partition (FA_HOPPER_HALF_SKIP).
        constexpr int kHalf = kSRegs / 2;  // elements of chunks 0 .. kBlockN / 16 - 1
        bool upper = true;
        if (need_mask) {
          // Per row, the admitted columns as a range [lo, hi] relative to this thread's first column,
          // worked out once: each element is then two compares with a constant (per-element position
          // and window tests measured 5-12% slower on causal S <= 2048, bench/RESULTS.md).
          const int first_col = col0 + col_in_chunk;
          int lo[2], hi[2];
#pragma unroll
          for (int rr = 0; rr < 2; ++rr) {
            const int pos = row0 + row_in_wg + 8 * rr + FA_DIAG;
            hi[rr] = tile.seqlen_k - 1 - first_col;
            if (args.window_right >= 0) hi[rr] = min(hi[rr], pos + args.window_right - first_col);
            lo[rr] = args.window_left >= 0 ? pos - args.window_left - first_col : 0;
          }
          if constexpr (FA_HOPPER_HALF_SKIP && decltype(may_skip)::value && Shape::kOverlap && kBlockN % 32 == 0)
            upper = __any_sync(0xffffffff, max(hi[0], hi[1]) >= (kBlockN / 16) * 8);
          // The lower bound only with a left window: causal and key-length blocks take one compare an element.
          if (args.window_left >= 0) {
#pragma unroll
            for (int i = 0; i < kSRegs; ++i) {
              const int c = (i / 4) * 8 + (i % 2), rr = (i % 4) / 2;
              if (c < lo[rr]) s[i] = -INFINITY;
            }
          }
#pragma unroll
          for (int i = 0; i < kHalf; ++i) {
            const int c = (i / 4) * 8 + (i % 2), rr = (i % 4) / 2;
            if (c > hi[rr]) s[i] = -INFINITY;
          }
          if (upper) {
#pragma unroll
            for (int i = kHalf; i < kSRegs; ++i) {
              const int c = (i / 4) * 8 + (i % 2), rr = (i % 4) / 2;
              if (c > hi[rr]) s[i] = -INFINITY;
            }
          }
        }
        // Row max and row sum over 8 partials each (index i % 8 holds one row: (i % 4) / 2), so the
        // dependent chains are kSRegs / 8 long instead of kSRegs / 2.
        float part[8];
#pragma unroll
        for (int i = 0; i < 8; ++i) part[i] = -INFINITY;
#pragma unroll
        for (int i = 0; i < kHalf; ++i) part[i % 8] = fmaxf(part[i % 8], s[i]);
        if (upper) {
#pragma unroll
          for (int i = kHalf; i < kSRegs; ++i) part[i % 8] = fmaxf(part[i % 8], s[i]);
        }
        float mx[2] = {fmaxf(fmaxf(part[0], part[1]), fmaxf(part[4], part[5])),
                       fmaxf(fmaxf(part[2], part[3]), fmaxf(part[6], part[7]))};
#pragma unroll
        for (int r = 0; r < 2; ++r) {
          mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffff, mx[r], 1));
          mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffff, mx[r], 2));
          const float m_new = mx[r] * mult;
          scale_o[r] = 1.f;
          if (m_new > m_run[r] + kRescaleThreshold) {
            scale_o[r] = tile::exp2_approx(m_run[r] - m_new);  // 0 on the first block (m_run = -inf)
            m_run[r] = m_new;
            l_run[r] *= scale_o[r];
          }
        }
        const float base[2] = {m_run[0] == -INFINITY ? 0.f : m_run[0], m_run[1] == -INFINITY ? 0.f : m_run[1]};
#pragma unroll
        for (int i = 0; i < 8; ++i) part[i] = 0.f;
#pragma unroll
        for (int i = 0; i < kHalf; ++i) {
          s[i] = tile::exp2_approx(fmaf(s[i], mult, -base[(i % 4) / 2]));
          part[i % 8] += s[i];
        }
        if (upper) {
#pragma unroll
          for (int i = kHalf; i < kSRegs; ++i) {
            s[i] = tile::exp2_approx(fmaf(s[i], mult, -base[(i % 4) / 2]));
            part[i % 8] += s[i];
          }
        }
        if constexpr (!kSumMma) {
          l_run[0] += (part[0] + part[1]) + (part[4] + part[5]);
          l_run[1] += (part[2] + part[3]) + (part[6] + part[7]);
        }
        return upper;  // false: S's upper half holds no probabilities (pack_p writes zeros for it)
      };
      // P = S as 16-bit A fragments: the accumulator layout of m64nN equals the register-A layout of
      // m64k16, two 8-column chunks per 16-key step, so no shuffles are needed.
      auto pack_p = [&](bool upper = true) {
#pragma unroll
        for (int kk = 0; kk < kBlockN / 16; ++kk) {
          const int c0 = 2 * kk * 4, c1 = (2 * kk + 1) * 4;
          const bool live = upper || kk < kBlockN / 32;
          p[kk][0] = live ? tile::pack2<T>(s[c0 + 0], s[c0 + 1]) : 0u;
          p[kk][1] = live ? tile::pack2<T>(s[c0 + 2], s[c0 + 3]) : 0u;
          p[kk][2] = live ? tile::pack2<T>(s[c1 + 0], s[c1 + 1]) : 0u;
          p[kk][3] = live ? tile::pack2<T>(s[c1 + 2], s[c1 + 3]) : 0u;
        }
      };
      // Without the intra-warpgroup overlap P is packed into S's own registers (S is dead once packed, and
      // a separate P made ptxas spill and serialise the wgmmas at 160 registers): P[kk][j] into s[4kk + j],
      // which never overwrites an element not yet read.
      auto pack_p_in_s = [&]() {
#pragma unroll
        for (int i = 0; i < kSRegs / 2; ++i) s[i] = __uint_as_float(tile::pack2<T>(s[2 * i], s[2 * i + 1]));
      };
      auto rescale_o = [&](const float (&scale_o)[2]) {
        const bool any = __any_sync(0xffffffff, scale_o[0] != 1.f || scale_o[1] != 1.f);
        if (any) {
#pragma unroll
          for (int i = 0; i < kORegs; ++i) o[i] *= scale_o[(i % 4) / 2];
          if constexpr (kSumMma) {
#pragma unroll
            for (int i = 0; i < 4; ++i) lsum[i] *= scale_o[i / 2];
          }
        }
      };

      // First block: Q·Kᵀ, softmax.
      int n = tile.n_end - 1;
      int stage = kv_iter % kStages;
      BarrierWait(&k_full[stage], (kv_iter / kStages) & 1);
      FA_TRACE(warpgroup, q_iter, 1, clock64());  // 1: its first K arrived
      FA_TRACE(warpgroup, q_iter, 5, tile.n_end - tile.n_begin);  // 5: key blocks
      wait_turn();
      issue_qk(stage);
      pass_turn();
      load_extra(n);
      WgmmaWait<0>();
      FenceRegisters(s);
      release(&k_empty[stage]);
      if (n == tile.n_begin) release(&q_empty[qb]);
      {
        float scale_o[2];
        // scale_o is 0 or 1 here and O is still zero: nothing to rescale
        const bool upper = softmax(n, scale_o, std::true_type{});
        if constexpr (Shape::kOverlap) pack_p(upper);
        else pack_p_in_s();
      }
      FA_TRACE(warpgroup, q_iter, 2, clock64());  // 2: first block's softmax done
      if constexpr (!Shape::kOverlap) {
        // P·V of block n, then Q·Kᵀ of block n - 1 and its softmax, each GEMM waited for at once.
        for (;; --n) {
          BarrierWait(&v_full[stage], (kv_iter / kStages) & 1);
          wait_turn();
          issue_pv(stage);
          pass_turn();
          WgmmaWait<0>();
          FenceRegisters(o);
          FenceRegisters(s);
          release(&v_empty[stage]);
          ++kv_iter;
          if (n == tile.n_begin) break;
          stage = kv_iter % kStages;
          BarrierWait(&k_full[stage], (kv_iter / kStages) & 1);
          wait_turn();
          issue_qk(stage);
          pass_turn();
          load_extra(n - 1);
          WgmmaWait<0>();
          FenceRegisters(s);
          release(&k_empty[stage]);
          if (n - 1 == tile.n_begin) release(&q_empty[qb]);
          float scale_o[2];
          softmax(n - 1, scale_o, std::false_type{});
          rescale_o(scale_o);
          pack_p_in_s();
        }
        FA_TRACE(warpgroup, q_iter, 3, clock64());  // 3: last P·V done
      } else {
      // Steady state: issue the next block's Q·Kᵀ, then this block's P·V; the next block's softmax
      // runs while P·V occupies the tensor cores.
      for (; n > tile.n_begin; --n) {
        const int next_iter = kv_iter + 1;
        const int next_stage = next_iter % kStages;
        BarrierWait(&k_full[next_stage], (next_iter / kStages) & 1);
        BarrierWait(&v_full[stage], (kv_iter / kStages) & 1);
        wait_turn();
        issue_qk(next_stage);
        issue_pv(stage);
        pass_turn();
        load_extra(n - 1);
        WgmmaWait<1>();  // the next Q·Kᵀ is done; P·V may still run
        FenceRegisters(s);
        release(&k_empty[next_stage]);
        if (n - 1 == tile.n_begin) release(&q_empty[qb]);
        float scale_o[2];
        softmax(n - 1, scale_o, std::false_type{});
        WgmmaWait<0>();  // P·V done: O may be rescaled and P overwritten
        FenceRegisters(o);
        if constexpr (kSumMma) FenceRegisters(lsum);
        FenceRegisters(p);
        release(&v_empty[stage]);
        rescale_o(scale_o);
        pack_p();
        kv_iter = next_iter;
        stage = next_stage;
      }
      // Last block's P·V (and the epilogue's first steps while it runs).
      BarrierWait(&v_full[stage], (kv_iter / kStages) & 1);
      wait_turn();
      issue_pv(stage);
      pass_turn();
      if (FA_HOPPER_EARLY_EPILOGUE) begin_epilogue();
      WgmmaWait<0>();
      FenceRegisters(o);
      if constexpr (kSumMma) FenceRegisters(lsum);
      FenceRegisters(p);
      release(&v_empty[stage]);
      ++kv_iter;
      FA_TRACE(warpgroup, q_iter, 3, clock64());  // 3: last P·V done
      }
    }

    // ---------------- epilogue: normalise, write O and the log-sum-exp ----------------
    if (!epilogue_begun) begin_epilogue();
    if constexpr (kSumMma) finish_sums();  // every P·V has been waited for
    if constexpr (kSplit) {
      // Partial result of this key range, in fp32, for CombineSplits (a separate instantiation, so
      // the usual kernel carries none of its registers).
      const int64_t rows = ((int64_t(tile.split) * args.batch + tile.b) * args.heads_q + tile.h) * args.seqlen_q;
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int row = row0 + row_in_wg + 8 * r;
        if (row >= args.seqlen_q) continue;
        float* dst = args.o_partial + (rows + row) * kD;
#pragma unroll
        for (int c = 0; c < kD / 8; ++c)
          *reinterpret_cast<float2*>(dst + c * 8 + col_in_chunk) =
              make_float2(o[c * 4 + 2 * r] * inv[r], o[c * 4 + 2 * r + 1] * inv[r]);
        if ((lane % 4) == 0) args.lse_partial[rows + row] = l_run[r] > 0.f ? m_run[r] + __log2f(l_run[r]) : -INFINITY;
      }
      continue;
    }
    // Varlen: the sequence's first token and rows, read again here rather than held in registers
    // through the main loop. Rows past its end belong to the next sequence and are never written.
    int seq_offset = 0, seq_rows = 0;
    if constexpr (kVarlen) SeqRange(args.cu_seqlens_q, tile.b, args.total_q, args.seqlen_q, &seq_offset, &seq_rows);
#define FA_ROWS_END (kVarlen ? seq_rows : args.seqlen_q)
    T* o_head = static_cast<T*>(args.o) + tile.b * args.o_batch_stride + tile.h * args.o_head_stride;
    if constexpr (kVarlen) o_head += int64_t(seq_offset) * args.o_seq_stride;
    // This warpgroup's normalised output into its staging tile: row r's 16-byte chunk c of a 64-column
    // block sits at chunk c ^ (r % 8) (the TMA 128-byte swizzle), so a warp's eight rows hit distinct
    // banks for each 4-byte store. Both of a thread's rows are lane / 4 mod 8, so the swizzle depends on
    // the lane alone: eight chunk addresses per thread, every store an immediate offset from one of them.
    auto stage_o = [&](uint8_t* s_o, const float (&inv)[2]) {
      uint8_t* const base = s_o + row_in_wg * 128 + col_in_chunk * 2;
      const int sw = (lane / 4) % 8;
#pragma unroll
      for (int r = 0; r < 2; ++r)
#pragma unroll
        for (int c = 0; c < kD / 8; ++c)
          *reinterpret_cast<uint32_t*>(base + (((c % 8) ^ sw) << 4) + (c / 8) * 8192 + r * 8 * 128) =
              tile::pack2<T>(o[c * 4 + 2 * r] * inv[r], o[c * 4 + 2 * r + 1] * inv[r]);
    };
    if constexpr (kTmaStore) {
      // Registers -> staging tile -> TMA; the threads go on while the copy engine stores.
      uint8_t* s_o = shared_at(Shape::kOOffset + wg * Shape::kOStageBytes);
      stage_o(s_o, inv);
      FenceProxyAsync();
      NamedBarrierSync(4 + wg, 128);
      if (o_store_thread) {
#pragma unroll
        for (int cb = 0; cb < kColBlocks; ++cb) TmaStore4D(&tma_o, s_o + cb * 8192, cb * 64, row0, tile.h, tile.b);
        TmaStoreCommit();
      }
    } else if constexpr (Shape::kStagedEpilogue) {
      // Registers -> swizzled shared tile (as above) -> 16-byte coalesced global stores of the rows
      // inside the sequence (varlen: a TMA box would overrun into the next sequence's rows).
      uint8_t* s_o = shared_at(Shape::kOOffset + wg * Shape::kOStageBytes);
      NamedBarrierSync(4 + wg, 128);  // the previous tile's reads of s_o are done
      stage_o(s_o, inv);
      NamedBarrierSync(4 + wg, 128);
      constexpr int kChunks = kD / 8;  // 16-byte chunks per row
      const int tid = threadIdx.x % 128;
#pragma unroll
      for (int i = tid; i < 64 * kChunks; i += 128) {
        const int r = i / kChunks, c = i % kChunks;
        const int row = row0 + r;
        if (row < FA_ROWS_END)
          *reinterpret_cast<uint4*>(o_head + row * args.o_seq_stride + c * 8) =
              *reinterpret_cast<const uint4*>(s_o + (c / 8) * 8192 + r * 128 + (((c % 8) ^ (r % 8)) << 4));
      }
    } else {
      // Straight from registers (no room to stage), 16 bytes a store: the four lanes of a quad hold two
      // columns each of the same 8-column chunks, so a 4 × 4 transpose over the quad (two butterfly
      // rounds: round b swaps lane bit b with word bit b) gives each lane one whole chunk of its row. A
      // warp then writes 64 contiguous bytes per row instead of 16 (4-byte stores measured 16% of a
      // tile at D 256 S 512 in trace.py).
      const int quad_lane = lane % 4;
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int row = row0 + row_in_wg + 8 * r;
        T* o_row = o_head + row * args.o_seq_stride;
#pragma unroll
        for (int g = 0; g < kD / 32; ++g) {
          uint32_t x[4];  // word j: chunk 4g + j, columns col_in_chunk + {0, 1}
#pragma unroll
          for (int j = 0; j < 4; ++j)
            x[j] = tile::pack2<T>(o[(4 * g + j) * 4 + 2 * r] * inv[r], o[(4 * g + j) * 4 + 2 * r + 1] * inv[r]);
#pragma unroll
          for (int b = 1; b <= 2; b *= 2) {
            const bool hi = (quad_lane & b) != 0;
#pragma unroll
            for (int j = 0; j < 4; ++j) {
              if (j & b) continue;
              const uint32_t got = __shfl_xor_sync(0xffffffff, hi ? x[j] : x[j | b], b);
              if (hi) x[j] = got;
              else x[j | b] = got;
            }
          }
          // now word s: chunk 4g + quad_lane, columns 2s, 2s + 1
          if (row < FA_ROWS_END)
            *reinterpret_cast<uint4*>(o_row + (4 * g + quad_lane) * 8) = make_uint4(x[0], x[1], x[2], x[3]);
        }
      }
    }
    if (args.lse != nullptr && (lane % 4) == 0) {
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        const int row = row0 + row_in_wg + 8 * r;
        if (row >= FA_ROWS_END) continue;
        const float lse = l_run[r] > 0.f ? (m_run[r] + __log2f(l_run[r])) * 0.69314718055994531f : -INFINITY;
        const int64_t token = kVarlen ? int64_t(seq_offset) + row : row;
        args.lse[tile.b * args.lse_batch_stride + tile.h * args.lse_head_stride + token * args.lse_seq_stride] = lse;
      }
    }
    FA_TRACE(warpgroup, q_iter, 4, clock64());  // 4: output written
  }
#undef FA_NUM_TILES
#undef FA_VARLEN_M_BLOCKS
#undef FA_DIAG
#undef FA_SEQLEN_Q
#undef FA_ROWS_END
}

// masked_rows "uniform", after the kernel, in two steps. SumOverKeys: out[b][hk][:] += the sum of V over
// keys 64·blockIdx.x .. +63 (out zeroed before; grid: key blocks × kv heads × batch); each thread sums one
// 8-column chunk over every (256 / chunks)-th row, then one thread a column adds the partial sums.
// FillMaskedRows: a row whose log-sum-exp is -inf (no key took part; the kernel wrote zeros) gets the
// mean of V over all Sk keys of its batch item and kv head (varlen: over its sequence's keys, zeros when
// it has none), as the op contract says. One warp a row.
// Kept out of the attention kernel so that its registers (and its speed) stay as they are.
template <typename T, int kD>
__global__ void __launch_bounds__(256) SumOverKeys(const FwdArgs a, const T* v, int64_t batch_stride,
                                                   int64_t seq_stride, int64_t head_stride, float* out) {
  constexpr int kChunks = kD / 8, kRowsPerPass = 256 / kChunks;
  const int hk = blockIdx.y, b = blockIdx.z, j0 = blockIdx.x * 64;
  int k_offset = 0, seqlen_k = a.seqlen_k;
  if (a.cu_seqlens_k != nullptr) SeqRange(a.cu_seqlens_k, b, a.total_k, a.seqlen_k, &k_offset, &seqlen_k);
  if (j0 >= seqlen_k) return;
  const int chunk = threadIdx.x % kChunks;
  const T* base = v + b * batch_stride + k_offset * seq_stride + hk * head_stride + chunk * 8;
  float acc[8] = {};
  for (int j = j0 + int(threadIdx.x) / kChunks; j < min(j0 + 64, seqlen_k); j += kRowsPerPass) {
    const uint4 w = *reinterpret_cast<const uint4*>(base + int64_t(j) * seq_stride);
    const uint32_t pairs[4] = {w.x, w.y, w.z, w.w};
#pragma unroll
    for (int e = 0; e < 4; ++e) {
      acc[2 * e] += HalfToFloat<T>(pairs[e], 0);
      acc[2 * e + 1] += HalfToFloat<T>(pairs[e], 1);
    }
  }
  __shared__ float part[256][8];
#pragma unroll
  for (int e = 0; e < 8; ++e) part[threadIdx.x][e] = acc[e];
  __syncthreads();
  if (threadIdx.x < kD) {
    float sum = 0.f;
    for (int r = 0; r < kRowsPerPass; ++r) sum += part[r * kChunks + threadIdx.x / 8][threadIdx.x % 8];
    atomicAdd(out + (int64_t(b) * a.heads_kv + hk) * kD + threadIdx.x, sum);
  }
}

template <typename T, int kD>
__global__ void __launch_bounds__(128) FillMaskedRows(const FwdArgs a, const float* v_sum) {
  const int64_t row = int64_t(blockIdx.x) * 4 + threadIdx.x / 32;  // over [batch][heads_q][seqlen_q]
  if (row >= int64_t(a.batch) * a.heads_q * a.seqlen_q) return;
  int i = int(row % a.seqlen_q);
  const int h = int(row / a.seqlen_q % a.heads_q), b = int(row / a.seqlen_q / a.heads_q);
  int keys = a.seqlen_k;
  if (a.cu_seqlens_q != nullptr) {  // varlen: row i of sequence b, at token q_offset + i
    int q_offset, seqlen_q, k_offset;
    SeqRange(a.cu_seqlens_q, b, a.total_q, a.seqlen_q, &q_offset, &seqlen_q);
    SeqRange(a.cu_seqlens_k, b, a.total_k, a.seqlen_k, &k_offset, &keys);
    if (i >= seqlen_q) return;
    i += q_offset;
  }
  if (a.lse[b * a.lse_batch_stride + h * a.lse_head_stride + i * a.lse_seq_stride] != -INFINITY) return;
  const float scale = keys > 0 ? 1.f / float(keys) : 0.f;
  const float* vs = v_sum + (int64_t(b) * a.heads_kv + h / a.group) * kD;
  T* o = static_cast<T*>(a.o) + b * a.o_batch_stride + int64_t(i) * a.o_seq_stride + h * a.o_head_stride;
  for (int d = threadIdx.x % 32; d < kD; d += 32) o[d] = static_cast<T>(vs[d] * scale);
}

// For a per-key mask (stride[2] == 0): per distinct (b, h) row, the first admitted key and one past
// the last ({Sk, 0} when none), so that the attention kernel skips key blocks the mask excludes for
// every query row (key padding on either side) instead of computing and discarding them.
__global__ void __launch_bounds__(256) MaskKeyRange(const uint8_t* mask, int64_t stride_b, int64_t stride_h,
                                                    int64_t stride_k, int heads, int seqlen_k, int* range) {
  const int row = blockIdx.x;
  const uint8_t* m = mask + (row / heads) * stride_b + (row % heads) * stride_h;
  int lo = seqlen_k, hi = 0;
  for (int j = threadIdx.x; j < seqlen_k; j += blockDim.x)
    if (m[j * stride_k] != 0) {
      lo = min(lo, j);
      hi = j + 1;
    }
  for (int d = 16; d > 0; d /= 2) {
    lo = min(lo, __shfl_xor_sync(0xffffffff, lo, d));
    hi = max(hi, __shfl_xor_sync(0xffffffff, hi, d));
  }
  __shared__ int s_lo[8], s_hi[8];
  if (threadIdx.x % 32 == 0) {
    s_lo[threadIdx.x / 32] = lo;
    s_hi[threadIdx.x / 32] = hi;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < int(blockDim.x / 32); ++w) {
      lo = min(lo, s_lo[w]);
      hi = max(hi, s_hi[w]);
    }
    range[2 * row] = lo;
    range[2 * row + 1] = hi;
  }
}

// Merges the key-range splits of each query row: weights 2^(lse_s - max), output Σ w_s·O_s / Σ w_s.
// One warp per row; lanes split the head dim.
template <typename T, int kD>
__global__ void __launch_bounds__(128) CombineSplits(const FwdArgs a) {
  const int lane = threadIdx.x % 32;
  const int64_t row_id = int64_t(blockIdx.x) * 4 + threadIdx.x / 32;
  const int64_t rows_total = int64_t(a.batch) * a.heads_q * a.seqlen_q;
  if (row_id >= rows_total) return;
  const int row = int(row_id % a.seqlen_q);
  const int bh = int(row_id / a.seqlen_q);
  const int b = bh / a.heads_q, h = bh % a.heads_q;
  const float my_lse = lane < a.num_splits ? a.lse_partial[lane * rows_total + row_id] : -INFINITY;
  float mx = my_lse;
#pragma unroll
  for (int d = 16; d > 0; d /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffff, mx, d));
  const float w = (my_lse == -INFINITY) ? 0.f : tile::exp2_approx(my_lse - mx);
  float sum = w;
#pragma unroll
  for (int d = 16; d > 0; d /= 2) sum += __shfl_xor_sync(0xffffffff, sum, d);
  constexpr int kPerLane = kD / 32;
  float acc[kPerLane];
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) acc[i] = 0.f;
  for (int sp = 0; sp < a.num_splits; ++sp) {
    const float ws = __shfl_sync(0xffffffff, w, sp);
    if (ws == 0.f) continue;
    const float* src = a.o_partial + (sp * rows_total + row_id) * kD;
#pragma unroll
    for (int i = 0; i < kPerLane; ++i) acc[i] += ws * src[lane + 32 * i];
  }
  const float inv = sum > 0.f ? 1.f / sum : 0.f;
  T* dst = static_cast<T*>(a.o) + b * a.o_batch_stride + h * a.o_head_stride + row * a.o_seq_stride;
#pragma unroll
  for (int i = 0; i < kPerLane; ++i) dst[lane + 32 * i] = static_cast<T>(acc[i] * inv);
  if (a.lse != nullptr && lane == 0)
    a.lse[b * a.lse_batch_stride + h * a.lse_head_stride + row * a.lse_seq_stride] =
        sum > 0.f ? (mx + __log2f(sum)) * 0.69314718055994531f : -INFINITY;
}

}  // namespace fa_onnx::cuda::hopper
