// The portable forward kernel (FlashAttention-2 style, sm80+), one CTA per (query block, head,
// batch[, key split]). Each warp owns 16 query rows; scores and the output accumulate in fp32
// registers; K and V tiles stream through shared memory with cp.async, K of the next tile loading
// while this tile's P·V runs and V loading while Q·Kᵀ runs.
//
// Compile-time: element type, head dim, converted-load path (fp32/FP8 inputs). Everything else
// (causal, window, bias, mask, ALiBi, softcap, paging, varlen, splits) is a runtime branch that is
// uniform over the CTA, so the instantiation count stays at 3 per head dim.
//
// Memory safety: lengths and offsets read from device memory (key_lengths, cache lengths,
// cu_seqlens, block tables) are clamped to [0, the size the params declare] before use, so a bad
// value never makes the kernel read or write outside the declared tensors (see README.md).
#pragma once

#include <cmath>

#include "fa_onnx/attention_params.h"
#include "tile.cuh"

#ifndef FA_ONNX_CUDA_FWD_MT
#define FA_ONNX_CUDA_FWD_MT 1  // kernel version: m16 tiles per warp (see FwdConfig)
#endif

namespace fa_onnx::cuda {

template <int kD>
struct FwdConfig {
  static constexpr int kDPad = (kD + 31) / 32 * 32;  // shared-memory row width (swizzle needs 32k)
  static constexpr int kChunks = kDPad / 8;          // 16-byte chunks per shared row
  static constexpr int kLoadChunks = kD / 8;         // chunks per row actually copied
  // kMT: m16 tiles per warp. The kernel is written for any kMT. Version 1 (the default build) is 1 m-tile
  // per warp: 8 warps x 16 rows (4 warps for D = 256); it passed the H100 numerics. Version 2
  // (-DFA_ONNX_CUDA_FWD_MT=2, D <= 128 only) is FA2's layout: 4 warps x 32 rows, each K/V fragment
  // feeding two MMAs (half the shared-memory reads per FLOP), two CTAs per SM; compiled, not yet run
  // on a GPU (README.md, "Versions").
  static constexpr int kMT = (FA_ONNX_CUDA_FWD_MT == 2 && kD <= 128) ? 2 : 1;
  static constexpr int kBM = kMT == 2 ? 128 : (kD <= 192 ? 128 : 64);  // query rows per CTA
  static constexpr int kWarps = kBM / (16 * kMT);
  static constexpr int kBN = kMT == 2 ? (kD <= 64 ? 64 : 32) : (kD <= 64 ? 128 : (kD <= 192 ? 64 : 32));  // keys per tile
  static constexpr int kThreads = kWarps * 32;
  static constexpr bool kQInRegs = kMT == 2 ? kD <= 32 : kD <= 128;  // else Q fragments are re-read from shared memory
  static constexpr int kMinBlocks = kMT == 2 ? 2 : 1;               // CTAs per SM the register budget must allow
  static constexpr int kSmemBytes = (kBM + 2 * kBN) * kDPad * 2;
};

// Key splitting (decode, small batch·heads): partial results go to fp32 scratch, combined later.
struct SplitArgs {
  int num_splits = 1;
  float* o_partial = nullptr;    // [splits][B][Hq][Sq][D]
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
    const int q0 = max(p.cu_seqlens_q[b], 0), k0 = max(p.cu_seqlens_k[b], 0);
    s.q_start = q0;
    s.k_start = k0;
    s.len_q = clampi(p.cu_seqlens_q[b + 1] - q0, 0, p.seqlen_q);
    s.len_k = clampi(p.cu_seqlens_k[b + 1] - k0, 0, p.seqlen_k);
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

template <typename T, int kD, bool kConvert>
__global__ void __launch_bounds__(FwdConfig<kD>::kThreads, FwdConfig<kD>::kMinBlocks) fwd_kernel(const AttentionParams p, const SplitArgs sa) {
  using C = FwdConfig<kD>;
  constexpr int kBM = C::kBM, kBN = C::kBN, kMT = C::kMT, kNT = kBN / 8, kDT = kD / 8, kKS = kD / 16;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  T* sQ = reinterpret_cast<T*>(smem_raw);
  T* sK = sQ + kBM * C::kDPad;
  T* sV = sK + kBN * C::kDPad;

  const int m_block = gridDim.x - 1 - blockIdx.x;  // heaviest (causal) blocks first
  const int h = blockIdx.y;
  const int b = blockIdx.z / sa.num_splits, split = blockIdx.z % sa.num_splits;
  const int hk = h / (p.heads_q / p.heads_kv);
  const SeqInfo si = seq_info(p, b);
  const int m0 = m_block * kBM;
  if (m0 >= si.len_q) return;

  const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane / 4, t4 = lane % 4;
  const int wl = p.window_left, wr = p.window_right;

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
  const bool general = p.bias.data != nullptr || p.mask.data != nullptr || p.alibi_slopes != nullptr || p.softcap > 0.f;
  const float slope = p.alibi_slopes ? p.alibi_slopes[b * p.alibi_batch_stride + h] : 0.f;
  const bool bias_f32 = p.dtype == DType::kFloat32 || p.dtype == DType::kFloat8E4M3;

  auto load_tile = [&](T* s, const TensorView& tv, int row0, int rows, int len, bool is_q) {
    for (int idx = tid; idx < rows * C::kLoadChunks; idx += C::kThreads) {
      const int r = idx / C::kLoadChunks, c = idx % C::kLoadChunks, i = row0 + r;
      const bool valid = i < len;
      int64_t e = 0;
      if (valid) {
        e = is_q ? b * tv.batch_stride + int64_t(si.q_start + i) * tv.seq_stride + h * tv.head_stride
                 : kv_row(p, tv, b, hk, si.k_start, i);
        e += c * 8;
      }
      tile::load_chunk<T, kConvert>(s + tile::swizzle<C::kChunks>(r, c) * 8, tv.data, e, valid, p.dtype);
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
  const int warp_row = warp * 16 * kMT;
  const int q_row = warp_row + (lane % 16), q_chunk = lane / 16;
  const int k_row = (lane % 8) + (lane / 16) * 8, k_chunk = (lane / 8) % 2;
  const int v_row = (lane % 8) + ((lane / 8) % 2) * 8, v_chunk = lane / 16;
  auto q_frag = [&](uint32_t (&a)[4], int mt, int ks) {
    tile::ldmatrix_x4(a, tile::smem_addr(sQ + tile::swizzle<C::kChunks>(q_row + mt * 16, ks * 2 + q_chunk) * 8));
  };

  if (n_begin < n_end) {
    load_tile(sQ, p.q, m0, kBM, si.len_q, true);
    load_tile(sK, p.k, n_begin * kBN, kBN, si.len_k, false);
    tile::cp_async_commit();
  }

  for (int n = n_begin; n < n_end; ++n) {
    const int n0 = n * kBN;
    tile::cp_async_wait_all();
    __syncthreads();  // K(n) visible; every warp is done with V(n-1)
    if constexpr (C::kQInRegs) {
      if (n == n_begin) {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
          for (int ks = 0; ks < kKS; ++ks) q_frag(qf[mt][ks], mt, ks);
      }
    }
    load_tile(sV, p.v, n0, kBN, si.len_k, false);
    tile::cp_async_commit();

    // S = Q Kᵀ: each K fragment feeds kMT MMAs.
    float s[kMT][kNT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt) s[mt][nt][0] = s[mt][nt][1] = s[mt][nt][2] = s[mt][nt][3] = 0.f;
#pragma unroll
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
        tile::ldmatrix_x4(kb, tile::smem_addr(sK + tile::swizzle<C::kChunks>(np * 16 + k_row, ks * 2 + k_chunk) * 8));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          tile::mma16816<T>(s[mt][2 * np], a[mt], kb[0], kb[1]);
          tile::mma16816<T>(s[mt][2 * np + 1], a[mt], kb[2], kb[3]);
        }
      }
    }

    // Scores into log2 units; the per-element path only where a bound crosses the tile or a
    // rare feature is on.
    const bool bound = n0 + kBN > si.len_k || (wr >= 0 && int64_t(n0) + kBN - 1 > int64_t(row_lo) + wr) ||
                       (wl >= 0 && int64_t(n0) < int64_t(row_hi) - wl);
    if (!general && !bound) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int x = 0; x < 4; ++x) s[mt][nt][x] *= scale_log2;
    } else {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt)
#pragma unroll
          for (int x = 0; x < 4; ++x) {
            const int i = m0 + warp_row + mt * 16 + g + (x / 2) * 8, j = n0 + nt * 8 + t4 * 2 + (x % 2);
            const int pos = i + si.offset;
            bool ok = i < si.len_q && j < si.len_k && (wl < 0 || int64_t(j) >= int64_t(pos) - wl) &&
                      (wr < 0 || int64_t(j) <= int64_t(pos) + wr);
            float v = s[mt][nt][x] * scale;
            if (ok && general) {
              if (p.softcap > 0.f) v = p.softcap * tanhf(v / p.softcap);
              if (p.bias.data != nullptr) {
                const int64_t be = b * p.bias.stride[0] + h * p.bias.stride[1] + int64_t(i) * p.bias.stride[2] + int64_t(j) * p.bias.stride[3];
                v += tile::load_as_float(p.bias.data, be, bias_f32 ? DType::kFloat32 : p.dtype);
              }
              if (p.alibi_slopes != nullptr) v -= slope * fabsf(float(pos - j));
              if (p.mask.data != nullptr) {
                const int64_t me = b * p.mask.stride[0] + h * p.mask.stride[1] + int64_t(i) * p.mask.stride[2] + int64_t(j) * p.mask.stride[3];
                ok = static_cast<const uint8_t*>(p.mask.data)[me] != 0;
              }
            }
            s[mt][nt][x] = ok ? v * kLog2e : -INFINITY;
          }
    }

    tile::cp_async_wait_all();
    __syncthreads();  // V(n) visible; every warp is done with K(n)
    if (n + 1 < n_end) {
      load_tile(sK, p.k, n0 + kBN, kBN, si.len_k, false);
      tile::cp_async_commit();
    }

    // Online softmax per row; a quad of lanes shares a row.
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int r = 0; r < 2; ++r) {
        float mx = row_max[mt][r];
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) mx = fmaxf(mx, fmaxf(s[mt][nt][2 * r], s[mt][nt][2 * r + 1]));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        const float m_use = mx == -INFINITY ? 0.f : mx;  // all -inf so far: keep exp2 finite
        const float alpha = tile::exp2_approx(row_max[mt][r] - m_use);
        row_max[mt][r] = mx;
        float sum = 0.f;
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
          s[mt][nt][2 * r] = tile::exp2_approx(s[mt][nt][2 * r] - m_use);
          s[mt][nt][2 * r + 1] = tile::exp2_approx(s[mt][nt][2 * r + 1] - m_use);
          sum += s[mt][nt][2 * r] + s[mt][nt][2 * r + 1];
        }
        row_sum[mt][r] = row_sum[mt][r] * alpha + sum;
#pragma unroll
        for (int d = 0; d < kDT; ++d) {
          o[mt][d][2 * r] *= alpha;
          o[mt][d][2 * r + 1] *= alpha;
        }
      }

    // O += P V (P re-packed from the score accumulators, no shared-memory round trip); each V
    // fragment feeds kMT MMAs.
#pragma unroll
    for (int kk = 0; kk < kBN / 16; ++kk) {
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
        tile::ldmatrix_x4_trans(vb, tile::smem_addr(sV + tile::swizzle<C::kChunks>(kk * 16 + v_row, dp * 2 + v_chunk) * 8));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          tile::mma16816<T>(o[mt][2 * dp], a[mt], vb[0], vb[1]);
          tile::mma16816<T>(o[mt][2 * dp + 1], a[mt], vb[2], vb[3]);
        }
      }
    }
  }

  // Epilogue: finish the row sums across the quad, normalise, write O (and LSE).
  const float v_scale = v_descale_of(p, b, hk);
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      float sum = row_sum[mt][r];
      sum += __shfl_xor_sync(0xffffffffu, sum, 1);
      sum += __shfl_xor_sync(0xffffffffu, sum, 2);
      const int i = m0 + warp_row + mt * 16 + g + r * 8;
      if (i >= si.len_q) continue;
      const bool empty = !(sum > 0.f);
      const float lse2 = empty ? -INFINITY : row_max[mt][r] + log2f(sum);
      if (sa.num_splits > 1) {  // dense only: index by (split, b, h, i)
        const int64_t row = ((int64_t(split) * p.batch + b) * p.heads_q + h) * p.seqlen_q + i;
        const float inv = empty ? 0.f : 1.f / sum;
#pragma unroll
        for (int d = 0; d < kDT; ++d)
          *reinterpret_cast<float2*>(sa.o_partial + row * kD + d * 8 + t4 * 2) =
              make_float2(o[mt][d][2 * r] * inv, o[mt][d][2 * r + 1] * inv);
        if (t4 == 0) sa.lse_partial[row] = lse2;
        continue;
      }
      const int64_t oe = b * p.o.batch_stride + int64_t(si.q_start + i) * p.o.seq_stride + h * p.o.head_stride;
      const float inv = empty ? 0.f : v_scale / sum;
#pragma unroll
      for (int d = 0; d < kDT; ++d) {
        const int col = d * 8 + t4 * 2;
        float x = o[mt][d][2 * r] * inv, y = o[mt][d][2 * r + 1] * inv;
        if (empty) {
          x = masked_row_value(p, si, b, hk, col);
          y = masked_row_value(p, si, b, hk, col + 1);
        }
        store_pair<T, kConvert>(p, oe + col, x, y);
      }
      if (p.lse != nullptr && t4 == 0)
        p.lse[b * p.lse_batch_stride + h * p.lse_head_stride + int64_t(si.q_start + i) * p.lse_seq_stride] =
            lse2 * 0.6931471805599453f;
    }
}

// Host side: launches one instantiation (defined in fwd_launch.cuh, instantiated per head dim).
template <typename T, int kD, bool kConvert>
cudaError_t launch_fwd(const AttentionParams& p, const SplitArgs& sa, cudaStream_t stream);

}  // namespace fa_onnx::cuda
