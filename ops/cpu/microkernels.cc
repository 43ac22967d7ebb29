#include "cpu/microkernels.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#include <immintrin.h>
#endif

namespace fa_onnx::cpu {
namespace {

// exp(x) for float32, written without calls or branches so a loop over it vectorises.
// x = n·ln2 + r with |r| ≤ ln2/2; exp(r) by its Taylor series to degree 6 (error below 2e-7
// relative), then 2^n assembled in the exponent bits. Inputs below -87 (incl. -inf) give 0.
__attribute__((always_inline)) inline float Exp(float x) {
  // Ternaries rather than fmin/fmax so a NaN input stays NaN; no calls and no memcpy so that GCC
  // if-converts and vectorises the loops using it.
  const float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float shifter = 12582912.0f;  // 1.5·2^23: adding it rounds to an integer
  const float n = (xc * 1.44269504088896341f + shifter) - shifter;
  const float r = (xc - n * 0.693145751953125f) - n * 1.428606765330187e-6f;  // ln2 split in two
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const float scale = __builtin_bit_cast(float, (static_cast<int32_t>(n) + 127) << 23);
  return x < -87.0f ? 0.0f : p * scale;
}


// The two matrix micro-kernels, as templates over the register block: kRows query rows by kLanes
// floats. Each instance is compiled for one target below; the block is chosen so the accumulators
// fill about half the vector registers of that target (8 of 16 ymm for AVX2, 8 of 32 zmm for
// AVX-512), enough independent FMA chains to hide their latency without spilling.
// GCC vector extensions make the register block explicit, so every target gets the same blocking
// whatever its auto-vectoriser heuristics decide (a vector wider than the target is split in two).
template <int kLanes>
struct VecOf {
  typedef float type __attribute__((vector_size(kLanes * sizeof(float))));
};

template <typename V>
__attribute__((always_inline)) inline V LoadV(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
}

template <typename V>
__attribute__((always_inline)) inline void StoreV(float* p, const V& v) {
  std::memcpy(p, &v, sizeof(V));
}

// kRows rows by kCount native vectors of kWidth floats; the accumulators are named scalars of
// vector type after full unrolling, so they stay in registers. Rows past the last full block go
// one at a time (decode has a single query row).
template <int kRows, int kWidth, int kCount>
__attribute__((always_inline)) inline void ScoreBlock(const float* __restrict q, int ldq, const float* __restrict kt,
                                                      float* __restrict s, int r, int depth, int keys) {
  constexpr int kLanes = kWidth * kCount;
  using V = typename VecOf<kWidth>::type;
  for (int jb = 0; jb < keys; jb += kLanes) {
    V acc[kRows][kCount] = {};
    for (int d = 0; d < depth; ++d) {
      V k[kCount];
#pragma GCC unroll 8
      for (int c = 0; c < kCount; ++c) k[c] = LoadV<V>(kt + d * kKeyTile + jb + c * kWidth);
#pragma GCC unroll 8
      for (int i = 0; i < kRows; ++i) {
        const float x = q[static_cast<long>(r + i) * ldq + d];
#pragma GCC unroll 8
        for (int c = 0; c < kCount; ++c) acc[i][c] += x * k[c];
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
#pragma GCC unroll 8
      for (int c = 0; c < kCount; ++c) StoreV(s + (r + i) * kKeyTile + jb + c * kWidth, acc[i][c]);
    }
  }
}

template <int kRows, int kWidth, int kCount>
__attribute__((always_inline)) inline void ScoreTileT(const float* q, int ldq, const float* kt, float* s, int rows,
                                                      int depth, int keys) {
  constexpr int kLanes = kWidth * kCount;
  static_assert(kKeyTile % kLanes == 0 && kKeyBlock % kLanes == 0, "register block must tile the score tile");
  keys = (keys + kLanes - 1) / kLanes * kLanes;  // whole register blocks; kt is zero past the tile's keys
  int r = 0;
  for (; r + kRows <= rows; r += kRows) ScoreBlock<kRows, kWidth, kCount>(q, ldq, kt, s, r, depth, keys);
  for (; r < rows; ++r) ScoreBlock<1, kWidth, kCount>(q, ldq, kt, s, r, depth, keys);
}

template <int kRows, int kWidth, int kCount>
__attribute__((always_inline)) inline void AccumulateBlock(const float* __restrict p, const float* __restrict v, long ldv,
                                                           float* __restrict o, int r, int keys, int cols,
                                                           const float* __restrict alpha) {
  constexpr int kLanes = kWidth * kCount;
  using V = typename VecOf<kWidth>::type;
  for (int cb = 0; cb < cols; cb += kLanes) {
    V acc[kRows][kCount];
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
#pragma GCC unroll 8
      for (int c = 0; c < kCount; ++c) {
        acc[i][c] = LoadV<V>(o + static_cast<long>(r + i) * cols + cb + c * kWidth) * alpha[r + i];
      }
    }
    for (int j = 0; j < keys; ++j) {
      V vj[kCount];
#pragma GCC unroll 8
      for (int c = 0; c < kCount; ++c) vj[c] = LoadV<V>(v + j * ldv + cb + c * kWidth);
#pragma GCC unroll 8
      for (int i = 0; i < kRows; ++i) {
        const float w = p[(r + i) * kKeyTile + j];
#pragma GCC unroll 8
        for (int c = 0; c < kCount; ++c) acc[i][c] += w * vj[c];
      }
    }
#pragma GCC unroll 8
    for (int i = 0; i < kRows; ++i) {
#pragma GCC unroll 8
      for (int c = 0; c < kCount; ++c) StoreV(o + static_cast<long>(r + i) * cols + cb + c * kWidth, acc[i][c]);
    }
  }
}

template <int kRows, int kWidth, int kCount>
__attribute__((always_inline)) inline void AccumulateTileT(const float* p, const float* v, long ldv, float* o, int rows,
                                                           int keys, int cols, const float* alpha) {
  static_assert(kColBlock % (kWidth * kCount) == 0, "register block must tile the output");
  int r = 0;
  for (; r + kRows <= rows; r += kRows) AccumulateBlock<kRows, kWidth, kCount>(p, v, ldv, o, r, keys, cols, alpha);
  for (; r < rows; ++r) AccumulateBlock<1, kWidth, kCount>(p, v, ldv, o, r, keys, cols, alpha);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target("arch=x86-64-v4"))) void ScoreTileV4(const float* q, int ldq, const float* kt, float* s, int rows, int depth, int keys) {
  ScoreTileT<8, 16, 2>(q, ldq, kt, s, rows, depth, keys);
}
__attribute__((target("arch=x86-64-v3"))) void ScoreTileV3(const float* q, int ldq, const float* kt, float* s, int rows, int depth, int keys) {
  ScoreTileT<4, 8, 2>(q, ldq, kt, s, rows, depth, keys);
}
__attribute__((target("arch=x86-64-v4"))) void AccumulateTileV4(const float* p, const float* v, long ldv, float* o, int rows,
                                                                 int keys, int cols, const float* alpha) {
  AccumulateTileT<8, 16, 2>(p, v, ldv, o, rows, keys, cols, alpha);
}
__attribute__((target("arch=x86-64-v3"))) void AccumulateTileV3(const float* p, const float* v, long ldv, float* o, int rows,
                                                                 int keys, int cols, const float* alpha) {
  AccumulateTileT<4, 8, 2>(p, v, ldv, o, rows, keys, cols, alpha);
}
#endif
void ScoreTileBase(const float* q, int ldq, const float* kt, float* s, int rows, int depth, int keys) {
  ScoreTileT<4, 4, 2>(q, ldq, kt, s, rows, depth, keys);
}
void AccumulateTileBase(const float* p, const float* v, long ldv, float* o, int rows, int keys, int cols,
                        const float* alpha) {
  AccumulateTileT<4, 4, 2>(p, v, ldv, o, rows, keys, cols, alpha);
}

// Exp and horizontal reductions on one native vector (kWidth floats: 16 for AVX-512, 8 for AVX2,
// 4 for SSE). Exp takes the same steps as the scalar Exp, for arguments x ≤ 0 (or NaN) only, which is
// all softmax needs (scores minus their maximum): no upper clamp.
template <int kWidth>
struct VecOps;

template <typename V>
__attribute__((always_inline)) inline V Max(V a, V b) {
  return a > b ? a : b;
}

template <>
struct VecOps<4> {
  typedef float V __attribute__((vector_size(16)));
  __attribute__((always_inline)) static float HMax(V x) {
    x = Max(x, __builtin_shufflevector(x, x, 2, 3, 0, 1));
    x = Max(x, __builtin_shufflevector(x, x, 1, 0, 3, 2));
    return x[0];
  }
  __attribute__((always_inline)) static float HSum(V x) {
    x += __builtin_shufflevector(x, x, 2, 3, 0, 1);
    x += __builtin_shufflevector(x, x, 1, 0, 3, 2);
    return x[0];
  }
};

template <>
struct VecOps<8> {
  typedef float V __attribute__((vector_size(32)));
  __attribute__((always_inline)) static float HMax(V x) {
    return VecOps<4>::HMax(Max(__builtin_shufflevector(x, x, 0, 1, 2, 3), __builtin_shufflevector(x, x, 4, 5, 6, 7)));
  }
  __attribute__((always_inline)) static float HSum(V x) {
    return VecOps<4>::HSum(__builtin_shufflevector(x, x, 0, 1, 2, 3) + __builtin_shufflevector(x, x, 4, 5, 6, 7));
  }
};

template <>
struct VecOps<16> {
  typedef float V __attribute__((vector_size(64)));
  __attribute__((always_inline)) static float HMax(V x) {
    return VecOps<8>::HMax(Max(__builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7),
                               __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15)));
  }
  __attribute__((always_inline)) static float HSum(V x) {
    return VecOps<8>::HSum(__builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7) +
                           __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15));
  }
};

// exp(r) on |r| ≤ ln2/2 by the degree-5 polynomial that interpolates it at the Chebyshev nodes
// (coefficients computed for this file): relative error below 2e-7 before rounding, one FMA fewer
// than the degree-6 Taylor series of the scalar Exp for the same accuracy. Evaluated as
// (c0 + c1·r) + r²·((c2 + c3·r) + r²·(c4 + c5·r)): three dependent steps instead of Horner's five,
// so fewer vectors must be in flight to keep the FMA units busy.
template <typename V>
__attribute__((always_inline)) inline V ExpPoly(V r) {
  const V r2 = r * r;
  const V a = r * 1.00000001077157f + 1.0000000754548972f;
  const V b = r * 1.666650526040855e-1f + 4.99988693783032e-1f;
  const V c = r * 8.369148490818804e-3f + 4.191750724963238e-2f;
  return a + r2 * (b + r2 * c);
}

// exp(x) for x ≤ 0 or NaN (softmax arguments: scores minus their maximum): the steps of Exp, the
// clamp written as a max so it is one instruction. Below -87 (incl. -inf) it gives 0, so the results
// stay normal numbers (no denormal slow paths).
template <typename V>
__attribute__((always_inline)) inline V ExpNonPositive(V x) {
  typedef int32_t I __attribute__((vector_size(sizeof(V))));
  const V lo = V{} - 87.0f;
  const V xc = Max(lo, x);  // NaN stays NaN: the comparison is false, so x is taken
  const V n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const V r = (xc - n * 0.693145751953125f) - n * 1.428606765330187e-6f;
  const I bits = (__builtin_convertvector(n, I) + 127) << 23;
  V scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return x < lo ? V{} : ExpPoly(r) * scale;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// The same for AVX-512: the scaling by 2^n is one instruction (vscalefps), and its mask zeroes the
// lanes below -87, so they need no clamp (what they compute, NaN for -inf, is discarded; masked
// lanes raise no exceptions). (Vector-extension code for the rounding: the intrinsics for it trip
// GCC 12's -Wmaybe-uninitialized inside its own headers.)
__attribute__((target("arch=x86-64-v4"))) inline VecOf<16>::type ExpNonPositive(VecOf<16>::type x) {
  using V = VecOf<16>::type;
  const __mmask16 keep = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_NLT_UQ);  // x ≥ -87 or NaN
  const V n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const V r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-6f;
  return _mm512_maskz_scalef_ps(keep, ExpPoly(r), n);
}
#endif

// Three passes over the tile (row maxima; the rescale factors, vectorised over rows; exp and sums)
// rather than one row at a time: each row's reductions form a long dependency chain, and passes of
// independent rows let the CPU overlap them.
template <int kWidth>
__attribute__((always_inline)) inline void SoftmaxTileT(float* __restrict s, int rows, int n, float* __restrict m,
                                                        float* __restrict l, float* __restrict alpha) {
  using Ops = VecOps<kWidth>;
  using V = typename Ops::V;
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  const int n_body = n - n % kWidth;
  // 1. New maxima, kept in alpha until pass 2.
  float* __restrict m_new = alpha;
  for (int r = 0; r < rows; ++r) {
    const float* __restrict row = s + r * kKeyTile;
    V vmax = V{} + kNegInf;
    for (int j = 0; j < n_body; j += kWidth) vmax = Max(vmax, LoadV<V>(row + j));
    float row_max = Ops::HMax(vmax);
    for (int j = n_body; j < n; ++j) row_max = row[j] > row_max ? row[j] : row_max;
    m_new[r] = m[r] > row_max ? m[r] : row_max;
  }
  // 2. alpha = exp(m_old - m_new), 0 when m_old is -inf; 1 for a row that has had no key yet (m_new
  // -inf), whose accumulator is still zero.
  int r = 0;
  for (; r + kWidth <= rows; r += kWidth) {
    const V mn = LoadV<V>(m_new + r), mo = LoadV<V>(m + r);
    StoreV(m + r, mn);
    StoreV(alpha + r, mn == kNegInf ? V{} + 1.f : ExpNonPositive(mo - mn));
  }
  for (; r < rows; ++r) {
    const float mn = m_new[r];
    alpha[r] = mn == kNegInf ? 1.f : Exp(m[r] - mn);
    m[r] = mn;
  }
  // 3. p = exp(s - m_new) in place, and l = l · alpha + Σ p; two rows at a time where the rows are
  // whole vectors, so two independent chains are in flight between the per-row reductions.
  r = 0;
  if (n_body == n) {
    for (; r + 2 <= rows && m[r] != kNegInf && m[r + 1] != kNegInf; r += 2) {
      float* __restrict row0 = s + r * kKeyTile;
      float* __restrict row1 = row0 + kKeyTile;
      const V vm0 = V{} + m[r], vm1 = V{} + m[r + 1];
      V vsum0 = V{}, vsum1 = V{};
      for (int j = 0; j < n; j += kWidth) {
        const V e0 = ExpNonPositive(LoadV<V>(row0 + j) - vm0);
        const V e1 = ExpNonPositive(LoadV<V>(row1 + j) - vm1);
        StoreV(row0 + j, e0);
        StoreV(row1 + j, e1);
        vsum0 += e0;
        vsum1 += e1;
      }
      l[r] = l[r] * alpha[r] + Ops::HSum(vsum0);
      l[r + 1] = l[r + 1] * alpha[r + 1] + Ops::HSum(vsum1);
    }
  }
  for (; r < rows; ++r) {
    float* __restrict row = s + r * kKeyTile;
    const float mn = m[r];
    if (mn == kNegInf) {
      for (int j = 0; j < n; ++j) row[j] = 0.f;
      continue;
    }
    const V vm = V{} + mn;
    V vsum = V{};
    for (int j = 0; j < n_body; j += kWidth) {
      const V e = ExpNonPositive(LoadV<V>(row + j) - vm);
      StoreV(row + j, e);
      vsum += e;
    }
    float sum = Ops::HSum(vsum);
    for (int j = n_body; j < n; ++j) {
      row[j] = Exp(row[j] - mn);
      sum += row[j];
    }
    l[r] = l[r] * alpha[r] + sum;
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target("arch=x86-64-v4"))) void SoftmaxTileV4(float* s, int rows, int n, float* m, float* l, float* alpha) {
  SoftmaxTileT<16>(s, rows, n, m, l, alpha);
}
__attribute__((target("arch=x86-64-v3"))) void SoftmaxTileV3(float* s, int rows, int n, float* m, float* l, float* alpha) {
  SoftmaxTileT<8>(s, rows, n, m, l, alpha);
}
#endif
void SoftmaxTileBase(float* s, int rows, int n, float* m, float* l, float* alpha) {
  SoftmaxTileT<4>(s, rows, n, m, l, alpha);
}

__attribute__((always_inline)) inline void TransposeKeysScalar(const float* __restrict k, long ldk, float* __restrict kt,
                                                               int j0, int n, int d0, int depth) {
  for (int j = j0; j < n; ++j) {
    for (int d = d0; d < depth; ++d) kt[d * kKeyTile + j] = k[j * ldk + d];
  }
}

void TransposeKeysBase(const float* k, long ldk, float* kt, int n, int depth) {
  TransposeKeysScalar(k, ldk, kt, 0, n, 0, depth);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// 16 × 16 blocks transposed in registers (unpack 32-bit pairs, unpack 64-bit pairs, then two rounds
// of 128-bit lane shuffles): 64 shuffles and 16 full-width stores per block instead of 256 scalar stores.
__attribute__((target("arch=x86-64-v4"))) void TransposeKeysV4(const float* k, long ldk, float* kt, int n, int depth) {
  using V = VecOf<16>::type;
  const int n16 = n - n % 16, depth16 = depth - depth % 16;
  for (int j0 = 0; j0 < n16; j0 += 16) {
    for (int d0 = 0; d0 < depth16; d0 += 16) {
      V r[16], t[16], u[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) r[i] = LoadV<V>(k + (j0 + i) * ldk + d0);
#pragma GCC unroll 8
      for (int i = 0; i < 16; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 18, 3, 19, 6, 22, 7, 23, 10, 26, 11, 27, 14, 30, 15, 31);
      }
      // u[4g + m]: rows 4g .. 4g+3 of column 4·lane + m, in each 128-bit lane.
#pragma GCC unroll 4
      for (int g = 0; g < 16; g += 4) {
        u[g] = __builtin_shufflevector(t[g], t[g + 2], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
        u[g + 1] = __builtin_shufflevector(t[g], t[g + 2], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
        u[g + 2] = __builtin_shufflevector(t[g + 1], t[g + 3], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29);
        u[g + 3] = __builtin_shufflevector(t[g + 1], t[g + 3], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
      }
#pragma GCC unroll 4
      for (int m = 0; m < 4; ++m) {
        const V v0 = __builtin_shufflevector(u[m], u[4 + m], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
        const V w0 = __builtin_shufflevector(u[m], u[4 + m], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
        const V v1 = __builtin_shufflevector(u[8 + m], u[12 + m], 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
        const V w1 = __builtin_shufflevector(u[8 + m], u[12 + m], 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
        float* out = kt + (d0 + m) * kKeyTile + j0;
        StoreV(out, __builtin_shufflevector(v0, v1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
        StoreV(out + 4 * kKeyTile, __builtin_shufflevector(w0, w1, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27));
        StoreV(out + 8 * kKeyTile, __builtin_shufflevector(v0, v1, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31));
        StoreV(out + 12 * kKeyTile, __builtin_shufflevector(w0, w1, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31));
      }
    }
    TransposeKeysScalar(k, ldk, kt, j0, j0 + 16, depth16, depth);
  }
  TransposeKeysScalar(k, ldk, kt, n16, n, 0, depth);
}
#endif

using ScoreFn = void (*)(const float*, int, const float*, float*, int, int, int);
using AccumulateFn = void (*)(const float*, const float*, long, float*, int, int, int, const float*);
using SoftmaxFn = void (*)(float*, int, int, float*, float*, float*);
using TransposeFn = void (*)(const float*, long, float*, int, int);

// The variants for this CPU, picked once. FA_ONNX_CPU_ISA=base|v3 caps the level (to test the other
// paths on a newer CPU).
struct Kernels {
  ScoreFn score = &ScoreTileBase;
  AccumulateFn accumulate = &AccumulateTileBase;
  SoftmaxFn softmax = &SoftmaxTileBase;
  TransposeFn transpose = &TransposeKeysBase;
  Kernels() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
    const char* cap = std::getenv("FA_ONNX_CPU_ISA");
    const int max_level = !cap ? 4 : std::strcmp(cap, "base") == 0 ? 1 : std::strcmp(cap, "v3") == 0 ? 3 : 4;
    __builtin_cpu_init();
    if (max_level >= 4 && __builtin_cpu_supports("x86-64-v4")) {
      score = &ScoreTileV4;
      accumulate = &AccumulateTileV4;
      softmax = &SoftmaxTileV4;
      transpose = &TransposeKeysV4;
    } else if (max_level >= 3 && __builtin_cpu_supports("x86-64-v3")) {
      score = &ScoreTileV3;
      accumulate = &AccumulateTileV3;
      softmax = &SoftmaxTileV3;
    }
#endif
  }
};

const Kernels& Selected() {
  static const Kernels kernels;
  return kernels;
}

}  // namespace

void ScoreTile(const float* q, int ldq, const float* kt, float* s, int rows, int depth, int keys) {
  Selected().score(q, ldq, kt, s, rows, depth, keys);
}

void AccumulateTile(const float* p, const float* v, long ldv, float* o, int rows, int keys, int cols,
                    const float* alpha) {
  Selected().accumulate(p, v, ldv, o, rows, keys, cols, alpha);
}

void SoftmaxTile(float* s, int rows, int n, float* m, float* l, float* alpha) {
  Selected().softmax(s, rows, n, m, l, alpha);
}

void TransposeKeys(const float* k, long ldk, float* kt, int n, int depth) { Selected().transpose(k, ldk, kt, n, depth); }

}  // namespace fa_onnx::cpu
