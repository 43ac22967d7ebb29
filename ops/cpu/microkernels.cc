#include "cpu/microkernels.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define FA_ONNX_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define FA_ONNX_CLONES
#endif

namespace fa_onnx::cpu {
namespace {

// exp(x) for float32, written without calls or branches so a loop over it vectorises.
// x = n·ln2 + r with |r| ≤ ln2/2; exp(r) by its Taylor series to degree 6 (error below 2e-7
// relative), then 2^n assembled in the exponent bits. Inputs below -87 (incl. -inf) give 0.
inline float Exp(float x) {
  // Ternaries rather than fmin/fmax so a NaN input stays NaN.
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
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return x < -87.0f ? 0.0f : p * scale;
}

}  // namespace

FA_ONNX_CLONES
void ScoreTile(const float* __restrict q, int ldq, const float* __restrict kt, float* __restrict s, int rows,
               int depth) {
  constexpr int kLanes = 16;
  for (int r = 0; r < rows; r += kRowBlock) {
    const float* q0 = q + static_cast<long>(r) * ldq;
    const float* q1 = q0 + ldq;
    const float* q2 = q1 + ldq;
    const float* q3 = q2 + ldq;
    for (int jb = 0; jb < kKeyTile; jb += kLanes) {
      float a0[kLanes] = {}, a1[kLanes] = {}, a2[kLanes] = {}, a3[kLanes] = {};
      for (int d = 0; d < depth; ++d) {
        const float* k = kt + d * kKeyTile + jb;
        const float x0 = q0[d], x1 = q1[d], x2 = q2[d], x3 = q3[d];
        for (int j = 0; j < kLanes; ++j) {
          a0[j] += x0 * k[j];
          a1[j] += x1 * k[j];
          a2[j] += x2 * k[j];
          a3[j] += x3 * k[j];
        }
      }
      float* s0 = s + r * kKeyTile + jb;
      for (int j = 0; j < kLanes; ++j) {
        s0[j] = a0[j];
        s0[kKeyTile + j] = a1[j];
        s0[2 * kKeyTile + j] = a2[j];
        s0[3 * kKeyTile + j] = a3[j];
      }
    }
  }
}

FA_ONNX_CLONES
void AccumulateTile(const float* __restrict p, const float* __restrict v, float* __restrict o, int rows, int keys,
                    int cols) {
  for (int r = 0; r < rows; r += kRowBlock) {
    const float* p0 = p + r * kKeyTile;
    for (int cb = 0; cb < cols; cb += kColBlock) {
      float a0[kColBlock], a1[kColBlock], a2[kColBlock], a3[kColBlock];
      float* o0 = o + static_cast<long>(r) * cols + cb;
      for (int c = 0; c < kColBlock; ++c) {
        a0[c] = o0[c];
        a1[c] = o0[cols + c];
        a2[c] = o0[2 * cols + c];
        a3[c] = o0[3 * cols + c];
      }
      for (int j = 0; j < keys; ++j) {
        const float* vj = v + static_cast<long>(j) * cols + cb;
        const float w0 = p0[j], w1 = p0[kKeyTile + j], w2 = p0[2 * kKeyTile + j], w3 = p0[3 * kKeyTile + j];
        for (int c = 0; c < kColBlock; ++c) {
          a0[c] += w0 * vj[c];
          a1[c] += w1 * vj[c];
          a2[c] += w2 * vj[c];
          a3[c] += w3 * vj[c];
        }
      }
      for (int c = 0; c < kColBlock; ++c) {
        o0[c] = a0[c];
        o0[cols + c] = a1[c];
        o0[2 * cols + c] = a2[c];
        o0[3 * cols + c] = a3[c];
      }
    }
  }
}

FA_ONNX_CLONES
float SoftmaxRow(float* __restrict s, int n, float* m, float* l) {
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  // Reductions run over 16 independent lanes so they vectorise without reassociation flags.
  constexpr int kLanes = 16;
  const int n_body = n - n % kLanes;
  float lane_max[kLanes];
  for (int c = 0; c < kLanes; ++c) lane_max[c] = kNegInf;
  for (int j = 0; j < n_body; j += kLanes) {
    for (int c = 0; c < kLanes; ++c) lane_max[c] = s[j + c] > lane_max[c] ? s[j + c] : lane_max[c];
  }
  float row_max = kNegInf;
  for (int c = 0; c < kLanes; ++c) row_max = lane_max[c] > row_max ? lane_max[c] : row_max;
  for (int j = n_body; j < n; ++j) row_max = s[j] > row_max ? s[j] : row_max;

  const float m_old = *m;
  const float m_new = m_old > row_max ? m_old : row_max;
  if (m_new == kNegInf) {
    // No key of this row has taken part yet: nothing to add.
    for (int j = 0; j < n; ++j) s[j] = 0.f;
    return 1.f;
  }
  for (int j = 0; j < n; ++j) s[j] = Exp(s[j] - m_new);
  float lane_sum[kLanes] = {};
  for (int j = 0; j < n_body; j += kLanes) {
    for (int c = 0; c < kLanes; ++c) lane_sum[c] += s[j + c];
  }
  float sum = 0.f;
  for (int c = 0; c < kLanes; ++c) sum += lane_sum[c];
  for (int j = n_body; j < n; ++j) sum += s[j];
  const float alpha = Exp(m_old - m_new);  // 0 when m_old is -inf
  *l = *l * alpha + sum;
  *m = m_new;
  return alpha;
}

FA_ONNX_CLONES
void ScaleRow(float* __restrict y, int n, float a) {
  for (int i = 0; i < n; ++i) y[i] *= a;
}

}  // namespace fa_onnx::cpu
