// cpu_check: the tiled CPU kernel against the scalar reference beside it, then its speed, without
// ONNX Runtime (llm.c style). Build: cmake --build <dir> --target fa_onnx_cpu_check; run:
//   fa_onnx_cpu_check [S (default 1024)]       FA_ONNX_CPU_ISA=base|v3 tries the other kernel variants.
// The tests in test/ops (float64 reference, real sessions) remain the authority; this is for working on
// the kernel itself.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <vector>

#include "cpu/convert.h"
#include "cpu/cpu_attention.h"
#include "cpu/microkernels.h"
#include "reference.h"

using namespace fa_onnx;

namespace {

struct Buffer {
  std::vector<uint16_t> bits;  // storage for any dtype, 2-byte aligned
  void* data() { return bits.data(); }
};

// Random tensor of n elements of `t`, values N(0, 1) rounded to the type.
Buffer Random(DType t, size_t n, std::mt19937& g) {
  std::normal_distribution<float> dist;
  Buffer b;
  b.bits.resize((n * cpu::ElementSize(t) + 1) / 2 + 1);
  std::vector<float> f(n);
  for (auto& x : f) x = dist(g);
  if (t == DType::kFloat32) std::memcpy(b.data(), f.data(), n * 4);
  else cpu::FromFloat(t, f.data(), b.data(), static_cast<int>(n));
  return b;
}

double RelL2(DType t, const void* got, const void* want, size_t n) {
  double num = 0, den = 0;
  for (size_t i = 0; i < n; ++i) {
    const double g = cpu::LoadOne(t, got, i), w = cpu::LoadOne(t, want, i);
    if (std::isnan(w) && std::isnan(g)) continue;
    if (!std::isfinite(g)) return INFINITY;
    num += (g - w) * (g - w);
    den += w * w;
  }
  return den > 0 ? std::sqrt(num / den) : std::sqrt(num);
}

// Dense BSHD problem with the given features; returns the kernel's error against the reference.
double CheckDense(DType t, int B, int Sq, int Sk, int Hq, int Hk, int D, int Dv, bool causal, float softcap,
                  int window_left, bool with_lengths, std::mt19937& g) {
  Buffer q = Random(t, size_t(B) * Sq * Hq * D, g), k = Random(t, size_t(B) * Sk * Hk * D, g),
         v = Random(t, size_t(B) * Sk * Hk * Dv, g);
  const size_t on = size_t(B) * Sq * Hq * Dv;
  Buffer o1 = Random(t, on, g), o2 = Random(t, on, g);
  std::vector<int32_t> lengths(B);
  for (int b = 0; b < B; ++b) lengths[b] = Sk - b * Sk / (2 * B);
  AttentionParams p;
  p.dtype = t;
  p.batch = B;
  p.heads_q = Hq;
  p.heads_kv = Hk;
  p.seqlen_q = Sq;
  p.seqlen_k = Sk;
  p.head_dim = D;
  p.head_dim_v = Dv;
  p.q = {q.data(), int64_t(Sq) * Hq * D, int64_t(Hq) * D, D};
  p.k = {k.data(), int64_t(Sk) * Hk * D, int64_t(Hk) * D, D};
  p.v = {v.data(), int64_t(Sk) * Hk * Dv, int64_t(Hk) * Dv, Dv};
  p.scale = 1.f / std::sqrt(float(D));
  p.softcap = softcap;
  p.window_left = window_left;
  p.window_right = causal ? 0 : -1;
  p.bottom_right = true;
  if (with_lengths) p.key_lengths = lengths.data();
  AttentionParams r = p;
  p.o = {o1.data(), int64_t(Sq) * Hq * Dv, int64_t(Hq) * Dv, Dv};
  r.o = {o2.data(), int64_t(Sq) * Hq * Dv, int64_t(Hq) * Dv, Dv};
  cpu::Run(p, cpu::ParallelFor{});
  cpu::ReferenceRun(r);
  return RelL2(t, o1.data(), o2.data(), on);
}

// The softmax's exp against double exp: rows [0, x1, x2, ...] have maximum 0, so SoftmaxTile leaves
// exp(x) in place of x. Every float32 step of 2^-12 over [-87, 0], plus -inf (must give 0) and NaN
// (must stay NaN). Returns the largest relative error, or infinity for a wrong special case.
double SoftmaxExpError() {
  const int rows = 64, per_row = cpu::kKeyTile - 1;
  std::vector<float> s(size_t(rows) * cpu::kKeyTile), in, m(rows), l(rows), alpha(rows);
  double worst = 0;
  float x = 0.f;
  while (x > -87.f) {
    for (int r = 0; r < rows; ++r) {
      m[r] = -INFINITY;
      l[r] = 0.f;
      s[size_t(r) * cpu::kKeyTile] = 0.f;
      for (int j = 1; j <= per_row; ++j) {
        s[size_t(r) * cpu::kKeyTile + j] = x;
        x = x > -87.f ? x - 1.f / 4096 : -87.f;
      }
    }
    s[1] = -INFINITY;
    s[2] = NAN;
    in = s;
    cpu::SoftmaxTile(s.data(), rows, cpu::kKeyTile, m.data(), l.data(), alpha.data());
    if (s[1] != 0.f || !std::isnan(s[2])) return INFINITY;
    for (size_t i = 3; i < s.size(); ++i) {
      const double want = std::exp(double(in[i]));
      worst = std::max(worst, std::fabs(s[i] - want) / want);
    }
  }
  return worst;
}

double CpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  std::mt19937 g(std::random_device{}());
  struct Case {
    const char* name;
    DType t;
    int B, Sq, Sk, Hq, Hk, D, Dv;
    bool causal;
    float softcap;
    int window_left;
    bool lengths;
    double bound;
  };
  const Case cases[] = {
      {"fp32 GQA4 D80 causal key_lengths", DType::kFloat32, 2, 127, 300, 8, 2, 80, 80, true, 0, -1, true, 1e-5},
      {"fp32 MQA D33 Dv45 window", DType::kFloat32, 1, 200, 257, 4, 1, 33, 45, false, 0, 50, false, 1e-5},
      {"fp16 D128 softcap", DType::kFloat16, 1, 64, 130, 2, 2, 128, 128, false, 5.f, -1, false, 1e-2},
      {"bf16 GQA8 D64 causal decode", DType::kBFloat16, 3, 1, 1000, 8, 1, 64, 64, true, 0, -1, true, 1e-2},
  };
  int failed = 0;
  for (const Case& c : cases) {
    const double err = CheckDense(c.t, c.B, c.Sq, c.Sk, c.Hq, c.Hk, c.D, c.Dv, c.causal, c.softcap, c.window_left, c.lengths, g);
    const bool ok = err <= c.bound;
    failed += !ok;
    std::printf("%-40s rel L2 %.2e (bound %.0e) %s\n", c.name, err, c.bound, ok ? "ok" : "FAIL");
  }

  const double exp_err = SoftmaxExpError();
  failed += !(exp_err <= 1e-6);
  std::printf("%-40s max rel %.2e (bound 1e-06) %s\n", "softmax exp on [-87, 0], -inf, NaN", exp_err,
              exp_err <= 1e-6 ? "ok" : "FAIL");

  // Speed: batch 1, 12 heads, D 64, fp32, one thread (the caller's), CPU time.
  const int S = argc > 1 ? std::atoi(argv[1]) : 1024, H = 12, D = 64;
  std::mt19937 g2(1);
  Buffer q = Random(DType::kFloat32, size_t(H) * S * D, g2), k = Random(DType::kFloat32, size_t(H) * S * D, g2),
         v = Random(DType::kFloat32, size_t(H) * S * D, g2), o = Random(DType::kFloat32, size_t(H) * S * D, g2);
  AttentionParams p;
  p.batch = 1;
  p.heads_q = p.heads_kv = H;
  p.seqlen_q = p.seqlen_k = S;
  p.head_dim = p.head_dim_v = D;
  p.q = {q.data(), int64_t(S) * H * D, int64_t(H) * D, D};
  p.k = {k.data(), int64_t(S) * H * D, int64_t(H) * D, D};
  p.v = {v.data(), int64_t(S) * H * D, int64_t(H) * D, D};
  p.o = {o.data(), int64_t(S) * H * D, int64_t(H) * D, D};
  p.scale = 0.125f;
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = CpuMs();
    cpu::Run(p, cpu::ParallelFor{});
    best = std::min(best, CpuMs() - t0);
  }
  std::printf("speed: B1 H12 S%d D64 fp32, 1 thread: %.1f ms CPU, %.1f GFLOP/s\n", S, best, 4.0 * H * S * double(S) * D / best / 1e6);
  return failed ? 1 : 0;
}
