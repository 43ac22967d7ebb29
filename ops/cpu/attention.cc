// CPU attention forward: the FlashAttention-2 algorithm. Each work item is one (batch, key/value head,
// query tile); its rows are the tile's queries for every query head of that KV group (GQA packing:
// each key/value tile is converted once for the whole group). It walks the key tiles its rows can see, keeping per row a running maximum m, a running
// softmax denominator l and an unnormalised output accumulator, rescaled whenever m grows. Memory per
// item is a few tiles, independent of the sequence lengths; no Sq×Sk buffer exists.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "cpu/convert.h"
#include "cpu/cpu_attention.h"
#include "cpu/microkernels.h"

namespace fa_onnx::cpu {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

int RoundUp(int x, int m) { return (x + m - 1) / m * m; }

// Tiles start on a 64-byte boundary, so the micro-kernels' full-width loads and stores never straddle
// two cache lines (a 128 x 128 tile step takes 10% longer from 16-byte aligned buffers).
constexpr size_t kAlign = 64;

struct AlignedFree {
  void operator()(float* p) const { std::free(p); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;

AlignedFloats AllocateAligned(size_t floats) {
  const size_t bytes = (floats * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  float* p = static_cast<float*>(std::aligned_alloc(kAlign, bytes > 0 ? bytes : kAlign));
  if (!p) throw std::bad_alloc();
  return AlignedFloats(p);
}

// Where sequence b lives and how long it is, for every op form.
struct Sequence {
  int q_begin = 0;    // first token along the seq axis (varlen offset, else 0)
  int k_begin = 0;
  int sq = 0;         // query rows of this sequence
  int sk = 0;         // key positions of this sequence ("uniform" averages over all of them)
  int sk_valid = 0;   // keys that may take part (key_lengths applied)
  int pos_offset = 0; // pos_q(i) = i + pos_offset
};

Sequence Describe(const AttentionParams& p, int b) {
  Sequence s;
  if (p.is_varlen()) {
    s.q_begin = p.cu_seqlens_q[b];
    s.k_begin = p.cu_seqlens_k[b];
    s.sq = p.cu_seqlens_q[b + 1] - s.q_begin;
    s.sk = p.cu_seqlens_k[b + 1] - s.k_begin;
  } else if (p.cache_lengths) {
    s.sq = p.seqlen_q;
    s.sk = p.cache_lengths[b] + p.cache_new_tokens;
  } else {
    s.sq = p.seqlen_q;
    s.sk = p.seqlen_k;
  }
  s.sk_valid = s.sk;
  if (p.key_lengths) s.sk_valid = std::min(s.sk, std::max(0, p.key_lengths[b]));
  s.pos_offset = p.bottom_right ? s.sk - s.sq : 0;
  return s;
}

// Key/value tiles converted once for all query tiles that read them: float32, keys transposed
// (D × kKeyTile), values padded (kKeyTile × Dv padded), for every (sequence, KV head, key tile). Used when more than one query tile reads each key tile; memory stays
// linear in the key length.
struct PreparedKV {
  std::vector<int64_t> seq_tile0;  // per sequence: index of its first key tile
  std::vector<int> tile_seq;       // per key tile: its sequence
  int64_t kt_size = 0, v_size = 0; // floats per tile
  float* kt = nullptr;
  float* v = nullptr;
  std::unique_ptr<std::vector<float>, void (*)(std::vector<float>*)> storage{nullptr, nullptr};
  const float* KT(int b, int hk, int tile, int heads_kv) const {
    return kt + ((seq_tile0[b] + tile) * heads_kv + hk) * kt_size;
  }
  const float* V(int b, int hk, int tile, int heads_kv) const {
    return v + ((seq_tile0[b] + tile) * heads_kv + hk) * v_size;
  }
};

struct Job {
  const AttentionParams* p;
  int tile_rows;  // queries per head in one item: the group's heads share the item's kQueryTile rows
  int q_tiles;
  const PreparedKV* kv = nullptr;
};

class ItemRunner {
 public:
  // Rows: query heads hk·g .. hk·g+g-1 (g = group size), each with queries i0 .. i0+qrows-1.
  ItemRunner(const AttentionParams& p, const PreparedKV* kv, int b, int hk, const Sequence& seq, int i0, int qrows)
      : p_(p), kv_(kv), b_(b), hk_(hk), seq_(seq), i0_(i0), rows_(qrows * p.group_size()) {
    esize_ = ElementSize(p.dtype);
    rows_pad_ = rows_;  // the micro-kernels take any row count
    row_head_.resize(rows_);
    row_query_.resize(rows_);
    slope_.assign(rows_, 0.f);
    for (int r = 0; r < rows_; ++r) {
      row_head_[r] = hk * p.group_size() + r / qrows;
      row_query_[r] = i0 + r % qrows;
      if (p.alibi_slopes) slope_[r] = p.alibi_slopes[b * p.alibi_batch_stride + row_head_[r]];
    }
    d_ = p.head_dim;
    dv_pad_ = RoundUp(p.head_dim_v, kColBlock);
    // Tiles every element of which is written before it is read are left uninitialised.
    q_ = AllocateAligned(static_cast<size_t>(rows_pad_) * d_);
    if (!kv_) {  // LoadKeyTile writes every element ScoreTile and AccumulateTile read
      kt_ = AllocateAligned(static_cast<size_t>(d_) * kKeyTile);
      if (!ValuesInPlace(p)) v_ = AllocateAligned(static_cast<size_t>(kKeyTile) * dv_pad_);
    }
    s_ = AllocateAligned(static_cast<size_t>(rows_pad_) * kKeyTile);
    o_ = AllocateAligned(static_cast<size_t>(rows_pad_) * dv_pad_);
    std::fill_n(o_.get(), static_cast<size_t>(rows_pad_) * dv_pad_, 0.f);
    row_buf_.resize(std::max(d_, p.head_dim_v));
    m_.assign(rows_pad_, kNegInf);
    l_.assign(rows_pad_, 0.f);
    alpha_.resize(rows_pad_);
    lo_.resize(rows_);
    hi_.resize(rows_);
    if (p.q_descale) {
      const int64_t di = b * p.descale_batch_stride + hk_ * p.descale_head_stride;
      qk_descale_ = p.q_descale[di] * p.k_descale[di];
      v_descale_ = p.v_descale[di];
    }
  }

  void Run() {
    LoadQuery();
    int lo_min = std::numeric_limits<int>::max(), hi_max = 0;
    int lo_max = 0, hi_min = std::numeric_limits<int>::max();  // keys every row may see: [lo_max, hi_min)
    for (int r = 0; r < rows_; ++r) {
      const int pos = row_query_[r] + seq_.pos_offset;
      int lo = 0, hi = seq_.sk_valid;
      if (p_.window_left >= 0) lo = std::max(lo, pos - p_.window_left);
      if (p_.window_right >= 0) hi = std::min(hi, pos + p_.window_right + 1);
      if (hi < lo) hi = lo;
      lo_[r] = lo;
      hi_[r] = hi;
      lo_max = std::max(lo_max, lo);
      hi_min = std::min(hi_min, hi);
      if (hi > lo) {
        lo_min = std::min(lo_min, lo);
        hi_max = std::max(hi_max, hi);
      }
    }
    // Prepared tiles start at multiples of kKeyTile; otherwise tiles start where the rows' keys do.
    const int j_start = kv_ && lo_min < hi_max ? lo_min / kKeyTile * kKeyTile : lo_min;
    for (int j0 = j_start; j0 < hi_max; j0 += kKeyTile) {
      const int n = std::min(kKeyTile, hi_max - j0);
      const float* kt = kt_.get();
      const float* v = v_.get();
      long ldv = dv_pad_;
      if (kv_) {
        kt = kv_->KT(b_, hk_, j0 / kKeyTile, p_.heads_kv);
        v = kv_->V(b_, hk_, j0 / kKeyTile, p_.heads_kv);
      } else {
        LoadKeys(j0, n, kt_.get(), v_.get());
      }
      if (!v) {  // float32 values read where they are (ValuesInPlace)
        v = reinterpret_cast<const float*>(KeyRow(p_.v, j0));
        ldv = static_cast<long>(p_.v.seq_stride);
      }
      ScoreTile(q_.get(), d_, kt, s_.get(), rows_, d_, n);
      // Plain attention on a tile inside every row's key range leaves the scores as they are.
      const bool plain = !(p_.softcap > 0.f) && !p_.bias.data && !p_.alibi_slopes && !p_.mask.data;
      if (!plain || j0 < lo_max || j0 + n > hi_min) {
        for (int r = 0; r < rows_; ++r) FinishScores(r, j0, n, s_.get() + static_cast<size_t>(r) * kKeyTile);
      }
      SoftmaxTile(s_.get(), rows_, n, m_.data(), l_.data(), alpha_.data());
      AccumulateTile(s_.get(), v, ldv, o_.get(), rows_, n, dv_pad_, alpha_.data());
    }
    Store();
  }

 private:
  const char* Row(const TensorView& t, int64_t batch_or_block, int64_t seq, int head) const {
    const int64_t e = batch_or_block * t.batch_stride + seq * t.seq_stride + head * t.head_stride;
    return static_cast<const char*>(t.data) + e * static_cast<int64_t>(esize_);
  }

  // Key/value position j of this sequence: through the block table for a paged cache.
  const char* KeyRow(const TensorView& t, int j) const {
    if (p_.block_table) {
      const int block = p_.block_table[b_ * p_.block_table_batch_stride + j / p_.block_size];
      return Row(t, block, j % p_.block_size, hk_);
    }
    return Row(t, b_, seq_.k_begin + j, hk_);
  }

  void LoadQuery() {
    const float scale = p_.scale * qk_descale_;
    for (int r = 0; r < rows_; ++r) {
      float* dst = q_.get() + static_cast<size_t>(r) * d_;
      const char* src = Row(p_.q, b_, seq_.q_begin + row_query_[r], row_head_[r]);
      if (p_.dtype == DType::kFloat32) {  // one pass over the (usually uncached) input
        const float* q = reinterpret_cast<const float*>(src);
        for (int d = 0; d < d_; ++d) dst[d] = q[d] * scale;
        continue;
      }
      ToFloat(p_.dtype, src, dst, d_);
      for (int d = 0; d < d_; ++d) dst[d] *= scale;
    }
  }

  void LoadKeys(int j0, int n, float* kt, float* v) {
    LoadKeyTile(p_, b_, hk_, seq_.k_begin, j0, n, kt, v, row_buf_.data());
  }

 public:
  // An item that converts its own key tiles (one query tile reads each) reads float32 values whose
  // rows are whole column blocks in place: no copy. Not for a paged cache, whose tiles may cross blocks.
  static bool ValuesInPlace(const AttentionParams& p) {
    return p.dtype == DType::kFloat32 && p.head_dim_v % kColBlock == 0 && !p.block_table;
  }

  // Converts keys j0 .. j0+n-1 of sequence b, KV head hk: transposed keys into kt (D × kKeyTile, the
  // columns past n zeroed) and values into v (n rows of Dv padded; skipped when v is null). `row`
  // holds D floats.
  static void LoadKeyTile(const AttentionParams& p, int b, int hk, int k_begin, int j0, int n, float* kt, float* v,
                          float* row_buf) {
    const size_t esize = ElementSize(p.dtype);
    const int d_ = p.head_dim;
    const int dv_pad = RoundUp(p.head_dim_v, kColBlock);
    auto key_row = [&](const TensorView& t, int j) {
      int64_t block = b, r = k_begin + j;
      if (p.block_table) {
        block = p.block_table[b * p.block_table_batch_stride + j / p.block_size];
        r = j % p.block_size;
      }
      return static_cast<const char*>(t.data) + (block * t.batch_stride + r * t.seq_stride + hk * t.head_stride) * int64_t(esize);
    };
    // float32 keys are transposed straight from the input, in register blocks where the rows are evenly
    // spaced (not a paged cache); other types through one converted row.
    const bool fp32_rows = p.dtype == DType::kFloat32 && !p.block_table;
    if (fp32_rows && n > 0) {
      TransposeKeys(reinterpret_cast<const float*>(key_row(p.k, j0)), static_cast<long>(p.k.seq_stride), kt, n, d_);
    }
    for (int jj = 0; jj < n; ++jj) {
      if (!fp32_rows) {
        const char* key = key_row(p.k, j0 + jj);
        const float* row = reinterpret_cast<const float*>(key);
        if (p.dtype != DType::kFloat32) {
          ToFloat(p.dtype, key, row_buf, d_);
          row = row_buf;
        }
        for (int d = 0; d < d_; ++d) kt[static_cast<size_t>(d) * kKeyTile + jj] = row[d];
      }
      if (!v) continue;
      float* vr = v + static_cast<size_t>(jj) * dv_pad;
      ToFloat(p.dtype, key_row(p.v, j0 + jj), vr, p.head_dim_v);
      std::fill(vr + p.head_dim_v, vr + dv_pad, 0.f);
    }
    // Columns past n take no part; keep them finite so no NaN leaks through a 0·x product.
    if (n < kKeyTile) {
      for (int d = 0; d < d_; ++d) std::fill_n(kt + static_cast<size_t>(d) * kKeyTile + n, kKeyTile - n, 0.f);
    }
  }

 private:
  // Steps 2-4 of the contract for row r and keys j0 .. j0+n-1, in place on the raw scaled scores.
  void FinishScores(int r, int j0, int n, float* s) const {
    const int i = row_query_[r], h = row_head_[r];
    if (p_.softcap > 0.f) {
      const float cap = p_.softcap, inv = 1.f / p_.softcap;
      for (int jj = 0; jj < n; ++jj) s[jj] = cap * std::tanh(s[jj] * inv);
    }
    if (p_.bias.data) {
      const int64_t* st = p_.bias.stride;
      const int64_t base = b_ * st[0] + h * st[1] + i * st[2];
      const DType bias_type = p_.dtype == DType::kFloat8E4M3 ? DType::kFloat32 : p_.dtype;
      for (int jj = 0; jj < n; ++jj) s[jj] += LoadOne(bias_type, p_.bias.data, base + (j0 + jj) * st[3]);
    }
    if (p_.alibi_slopes) {
      const float pos = static_cast<float>(i + seq_.pos_offset);
      for (int jj = 0; jj < n; ++jj) s[jj] -= slope_[r] * std::fabs(pos - static_cast<float>(j0 + jj));
    }
    if (p_.mask.data) {
      const int64_t* st = p_.mask.stride;
      const int64_t base = b_ * st[0] + h * st[1] + i * st[2];
      const uint8_t* mask = static_cast<const uint8_t*>(p_.mask.data);
      for (int jj = 0; jj < n; ++jj) {
        if (!mask[base + (j0 + jj) * st[3]]) s[jj] = kNegInf;
      }
    }
    const int lo = lo_[r] - j0, hi = hi_[r] - j0;
    for (int jj = 0; jj < std::min(lo, n); ++jj) s[jj] = kNegInf;
    for (int jj = std::max(hi, 0); jj < n; ++jj) s[jj] = kNegInf;
  }

  void Store() {
    const int dv = p_.head_dim_v;
    for (int r = 0; r < rows_; ++r) {
      float* o = o_.get() + static_cast<size_t>(r) * dv_pad_;
      const int64_t row = seq_.q_begin + row_query_[r];
      const int h = row_head_[r];
      float lse;
      char* dst = static_cast<char*>(p_.o.data) +
                  (b_ * p_.o.batch_stride + row * p_.o.seq_stride + h * p_.o.head_stride) *
                      static_cast<int64_t>(OutputElementSize());
      if (l_[r] > 0.f) {
        const float inv = v_descale_ / l_[r];
        lse = p_.lse ? m_[r] + std::log(l_[r]) : 0.f;
        if (p_.dtype == DType::kFloat32) {  // normalised straight into the output
          float* out = reinterpret_cast<float*>(dst);
          for (int c = 0; c < dv; ++c) out[c] = o[c] * inv;
          if (p_.lse) p_.lse[b_ * p_.lse_batch_stride + h * p_.lse_head_stride + row * p_.lse_seq_stride] = lse;
          continue;
        }
        for (int c = 0; c < dv; ++c) o[c] *= inv;
      } else {
        FillMaskedRow(o);
        lse = kNegInf;
      }
      FromFloat(p_.dtype, o, dst, dv);
      if (p_.lse) p_.lse[b_ * p_.lse_batch_stride + h * p_.lse_head_stride + row * p_.lse_seq_stride] = lse;
    }
  }

  size_t OutputElementSize() const { return p_.dtype == DType::kFloat32 ? 4 : 2; }

  void FillMaskedRow(float* o) const {
    const int dv = p_.head_dim_v;
    switch (p_.masked_rows) {
      case MaskedRows::kZero:
        std::fill_n(o, dv, 0.f);
        break;
      case MaskedRows::kNaN:
        std::fill_n(o, dv, std::numeric_limits<float>::quiet_NaN());
        break;
      case MaskedRows::kUniform: {
        // Softmax of equal scores: the plain mean of every value row of the sequence.
        std::vector<double> sum(dv, 0.0);
        std::vector<float> row(dv);
        for (int j = 0; j < seq_.sk; ++j) {
          ToFloat(p_.dtype, KeyRow(p_.v, j), row.data(), dv);
          for (int c = 0; c < dv; ++c) sum[c] += row[c];
        }
        const double inv = seq_.sk > 0 ? 1.0 / seq_.sk : 0.0;
        for (int c = 0; c < dv; ++c) o[c] = static_cast<float>(sum[c] * inv) * v_descale_;
        break;
      }
    }
  }

  const AttentionParams& p_;
  const PreparedKV* kv_;
  int b_, hk_;
  Sequence seq_;
  int i0_, rows_, rows_pad_ = 0, d_ = 0, dv_pad_ = 0;
  size_t esize_ = 4;
  float qk_descale_ = 1.f, v_descale_ = 1.f;
  AlignedFloats q_, kt_, v_, s_, o_;
  std::vector<float> row_buf_, m_, l_, alpha_, slope_;
  std::vector<int> lo_, hi_, row_head_, row_query_;
};

void RunItem(void* data, size_t index) {
  const Job& job = *static_cast<const Job*>(data);
  const AttentionParams& p = *job.p;
  const int qt = static_cast<int>(index % job.q_tiles);
  const size_t rest = index / job.q_tiles;
  const int hk = static_cast<int>(rest % p.heads_kv);
  const int b = static_cast<int>(rest / p.heads_kv);
  const Sequence seq = Describe(p, b);
  const int i0 = qt * job.tile_rows;
  if (i0 >= seq.sq) return;
  ItemRunner(p, job.kv, b, hk, seq, i0, std::min(job.tile_rows, seq.sq - i0)).Run();
}

std::mutex g_pool_mutex;
std::vector<std::unique_ptr<std::vector<float>>> g_pool;

void ReleaseBuffer(std::vector<float>* buffer) {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  g_pool.emplace_back(buffer);
}

std::unique_ptr<std::vector<float>, void (*)(std::vector<float>*)> AcquireBuffer(size_t floats) {
  std::unique_ptr<std::vector<float>> buffer;
  {
    std::lock_guard<std::mutex> lock(g_pool_mutex);
    if (!g_pool.empty()) {
      buffer = std::move(g_pool.back());
      g_pool.pop_back();
    }
  }
  if (!buffer) buffer = std::make_unique<std::vector<float>>();
  if (buffer->size() < floats) {
    buffer->clear();
    buffer->shrink_to_fit();
    buffer->resize(floats);
  }
  return {buffer.release(), &ReleaseBuffer};
}

struct PrepareJob {
  const AttentionParams* p;
  PreparedKV* kv;
};

void PrepareItem(void* data, size_t index) {
  const PrepareJob& job = *static_cast<const PrepareJob*>(data);
  const AttentionParams& p = *job.p;
  const int64_t tile = static_cast<int64_t>(index) / p.heads_kv;
  const int hk = static_cast<int>(index % p.heads_kv);
  const int b = job.kv->tile_seq[tile];
  const Sequence seq = Describe(p, b);
  const int t = static_cast<int>(tile - job.kv->seq_tile0[b]);
  const int j0 = t * kKeyTile;
  std::vector<float> row(p.head_dim);
  float* kt = job.kv->kt + (tile * p.heads_kv + hk) * job.kv->kt_size;
  float* v = job.kv->v + (tile * p.heads_kv + hk) * job.kv->v_size;
  ItemRunner::LoadKeyTile(p, b, hk, seq.k_begin, j0, std::min(kKeyTile, seq.sk_valid - j0), kt, v, row.data());
}

// Converts every key tile once when several query tiles will read it (and the copy stays modest).
bool Prepare(const AttentionParams& p, int q_tiles, const ParallelFor& parallel_for, PreparedKV* kv) {
  if (q_tiles < 2) return false;
  kv->seq_tile0.resize(p.batch + 1);
  int64_t tiles = 0;
  for (int b = 0; b < p.batch; ++b) {
    kv->seq_tile0[b] = tiles;
    const Sequence seq = Describe(p, b);
    tiles += (std::max(seq.sk_valid, 0) + kKeyTile - 1) / kKeyTile;
  }
  kv->seq_tile0[p.batch] = tiles;
  kv->kt_size = static_cast<int64_t>(p.head_dim) * kKeyTile;
  // Values are copied too, even float32 ones: several query tiles re-read each value tile, and in place
  // their rows may be a few KiB apart (BSHD, packed heads: few cache sets) or not 64-byte aligned (the
  // tensors ONNX Runtime gets from Node.js are not), both slower than the copy (S 1024 BSHD by 7%).
  kv->v_size = static_cast<int64_t>(kKeyTile) * RoundUp(p.head_dim_v, kColBlock);
  const int64_t floats = tiles * p.heads_kv * (kv->kt_size + kv->v_size);
  constexpr int64_t kMaxFloats = int64_t(1) << 27;  // 512 MiB: beyond that, convert per query tile
  if (tiles == 0 || floats > kMaxFloats) return false;
  kv->tile_seq.resize(tiles);
  for (int b = 0; b < p.batch; ++b) {
    for (int64_t t = kv->seq_tile0[b]; t < kv->seq_tile0[b + 1]; ++t) kv->tile_seq[t] = b;
  }
  // Buffers are pooled between calls: a fresh multi-megabyte block each call costs more in page
  // faults than the conversion saves. Concurrent calls take different buffers; the pool holds as
  // many as ran at once, each the size of the largest call (linear in the key length).
  kv->storage = AcquireBuffer(static_cast<size_t>(floats) + kAlign / sizeof(float));
  // Every tile is a multiple of 64 bytes long, so aligning the first aligns them all.
  const uintptr_t base = reinterpret_cast<uintptr_t>(kv->storage->data());
  float* storage_data = reinterpret_cast<float*>((base + kAlign - 1) / kAlign * kAlign);
  kv->kt = storage_data;
  kv->v = storage_data + tiles * p.heads_kv * kv->kt_size;
  PrepareJob job{&p, kv};
  parallel_for(&PrepareItem, static_cast<size_t>(tiles * p.heads_kv), &job);
  return true;
}

}  // namespace

std::string Run(const AttentionParams& p, const ParallelFor& parallel_for) {
  if (p.batch <= 0 || p.heads_q <= 0 || p.seqlen_q <= 0) return "";  // nothing to compute
  const int tile_rows = std::max(1, kQueryTile / p.group_size());
  Job job{&p, tile_rows, (p.seqlen_q + tile_rows - 1) / tile_rows};
  PreparedKV kv;
  if (Prepare(p, job.q_tiles, parallel_for, &kv)) job.kv = &kv;
  const size_t total = static_cast<size_t>(p.batch) * p.heads_kv * job.q_tiles;
  parallel_for(&RunItem, total, &job);
  return "";
}

std::string AppendKV(const KVAppendParams& p) {
  const size_t esize = ElementSize(p.dtype);
  auto row = [&](const MutableTensorView& t, int b, int pos, int hk) {
    int64_t block = b, r = pos;
    if (p.block_table) {
      block = p.block_table[b * p.block_table_batch_stride + pos / p.block_size];
      r = pos % p.block_size;
    }
    return static_cast<char*>(t.data) + (block * t.batch_stride + r * t.seq_stride + hk * t.head_stride) * int64_t(esize);
  };
  auto src = [&](const TensorView& t, int b, int i, int hk) {
    return static_cast<const char*>(t.data) + (b * t.batch_stride + i * t.seq_stride + hk * t.head_stride) * int64_t(esize);
  };
  for (int b = 0; b < p.batch; ++b) {
    for (int i = 0; i < p.new_tokens; ++i) {
      const int pos = p.cache_seqlens[b] + i;
      for (int hk = 0; hk < p.heads_kv; ++hk) {
        std::memcpy(row(p.k_cache, b, pos, hk), src(p.k_new, b, i, hk), esize * p.head_dim);
        std::memcpy(row(p.v_cache, b, pos, hk), src(p.v_new, b, i, hk), esize * p.head_dim_v);
      }
    }
  }
  return "";
}

}  // namespace fa_onnx::cpu
