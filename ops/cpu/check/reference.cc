#include "reference.h"

#include <cmath>
#include <limits>
#include <vector>

#include "cpu/convert.h"

namespace fa_onnx::cpu {
namespace {

const char* At(const TensorView& t, DType dtype, int64_t batch, int64_t seq, int64_t head) {
  return static_cast<const char*>(t.data) +
         (batch * t.batch_stride + seq * t.seq_stride + head * t.head_stride) * static_cast<int64_t>(ElementSize(dtype));
}

}  // namespace

void ReferenceRun(const AttentionParams& p) {
  const double inf = std::numeric_limits<double>::infinity();
  for (int b = 0; b < p.batch; ++b) {
    // This sequence's extent (see attention.cc, Describe).
    int q0 = 0, k0 = 0, sq = p.seqlen_q, sk = p.seqlen_k;
    if (p.is_varlen()) {
      q0 = p.cu_seqlens_q[b];
      k0 = p.cu_seqlens_k[b];
      sq = p.cu_seqlens_q[b + 1] - q0;
      sk = p.cu_seqlens_k[b + 1] - k0;
    } else if (p.cache_lengths) {
      sk = p.cache_lengths[b] + p.cache_new_tokens;
    }
    const int valid = p.key_lengths ? std::min(sk, p.key_lengths[b]) : sk;
    const int offset = p.bottom_right ? sk - sq : 0;
    for (int h = 0; h < p.heads_q; ++h) {
      const int hk = h / p.group_size();
      auto key = [&](const TensorView& t, int j) {
        if (!p.block_table) return At(t, p.dtype, b, k0 + j, hk);
        return At(t, p.dtype, p.block_table[b * p.block_table_batch_stride + j / p.block_size], j % p.block_size, hk);
      };
      const int64_t di = b * p.descale_batch_stride + hk * p.descale_head_stride;
      const double qd = p.q_descale ? p.q_descale[di] : 1.0, kd = p.k_descale ? p.k_descale[di] : 1.0;
      const double vd = p.v_descale ? p.v_descale[di] : 1.0;
      for (int i = 0; i < sq; ++i) {
        const int pos = i + offset;
        std::vector<double> s(sk, -inf);
        for (int j = 0; j < sk; ++j) {
          double x = 0;
          for (int d = 0; d < p.head_dim; ++d) {
            x += LoadOne(p.dtype, At(p.q, p.dtype, b, q0 + i, h), d) * qd * LoadOne(p.dtype, key(p.k, j), d) * kd;
          }
          x *= p.scale;
          if (p.softcap > 0) x = p.softcap * std::tanh(x / p.softcap);
          if (p.bias.data) {
            const DType bt = p.dtype == DType::kFloat8E4M3 ? DType::kFloat32 : p.dtype;
            x += LoadOne(bt, p.bias.data, b * p.bias.stride[0] + h * p.bias.stride[1] + i * p.bias.stride[2] + j * p.bias.stride[3]);
          }
          if (p.alibi_slopes) x -= p.alibi_slopes[b * p.alibi_batch_stride + h] * std::abs(pos - j);
          bool take = j < valid;
          if (p.mask.data) {
            const auto* m = static_cast<const uint8_t*>(p.mask.data);
            take = take && m[b * p.mask.stride[0] + h * p.mask.stride[1] + i * p.mask.stride[2] + j * p.mask.stride[3]];
          }
          if (p.window_left >= 0 && j < pos - p.window_left) take = false;
          if (p.window_right >= 0 && j > pos + p.window_right) take = false;
          if (take) s[j] = x;
        }
        double mx = -inf;
        for (double x : s) mx = std::max(mx, x);
        std::vector<float> out(p.head_dim_v, 0.f);
        float lse = -std::numeric_limits<float>::infinity();
        if (mx == -inf) {
          for (int c = 0; c < p.head_dim_v; ++c) {
            if (p.masked_rows == MaskedRows::kNaN) out[c] = std::numeric_limits<float>::quiet_NaN();
            if (p.masked_rows == MaskedRows::kUniform && sk > 0) {
              double acc = 0;
              for (int j = 0; j < sk; ++j) acc += LoadOne(p.dtype, key(p.v, j), c) * vd;
              out[c] = static_cast<float>(acc / sk);
            }
          }
        } else {
          double sum = 0;
          for (double& x : s) sum += (x = std::exp(x - mx));
          for (int c = 0; c < p.head_dim_v; ++c) {
            double acc = 0;
            for (int j = 0; j < sk; ++j) {
              if (s[j] > 0) acc += s[j] * LoadOne(p.dtype, key(p.v, j), c) * vd;
            }
            out[c] = static_cast<float>(acc / sum);
          }
          lse = static_cast<float>(mx + std::log(sum));
        }
        const int64_t row = q0 + i;
        char* dst = static_cast<char*>(p.o.data) +
                    (b * p.o.batch_stride + row * p.o.seq_stride + h * p.o.head_stride) * (p.dtype == DType::kFloat32 ? 4 : 2);
        FromFloat(p.dtype, out.data(), dst, p.head_dim_v);
        if (p.lse) p.lse[b * p.lse_batch_stride + h * p.lse_head_stride + row * p.lse_seq_stride] = lse;
      }
    }
  }
}

}  // namespace fa_onnx::cpu
