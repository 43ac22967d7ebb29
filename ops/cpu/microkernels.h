// The inner loops of the CPU attention kernel, on float32 tiles. Each is compiled for AVX-512
// (x86-64-v4), AVX2+FMA (x86-64-v3) and baseline x86-64, and the variant for the running CPU is picked
// once at load, so the library runs on any x86-64 and uses the wider units where present.
// FA_ONNX_CPU_ISA=base|v3 caps the choice (tests run every variant on one machine).
#pragma once

namespace fa_onnx::cpu {

// Keys per tile; also the row stride of the score/probability tiles and of the transposed key tile.
constexpr int kKeyTile = 128;
// ScoreTile computes key columns in blocks of this many (a multiple of every variant's register block).
constexpr int kKeyBlock = 32;
// Query rows per tile.
constexpr int kQueryTile = 128;
// Value columns (and the output accumulator) are padded to a multiple of this.
constexpr int kColBlock = 32;

// s[r][j] = Σ_d q[r][d] · kt[d][j] for r < rows (any count) and j < keys rounded up to kKeyBlock.
// q: rows × depth, row stride ldq; kt: depth × kKeyTile, zero past `keys`; s: rows × kKeyTile.
void ScoreTile(const float* q, int ldq, const float* kt, float* s, int rows, int depth, int keys);

// o[r][c] += Σ_{j < keys} p[r][j] · v[j][c] for r < rows, c < cols (a multiple of kColBlock).
// p: rows × kKeyTile; v: keys × cols; o: rows × cols.
void AccumulateTile(const float* p, const float* v, float* o, int rows, int keys, int cols);

// Online-softmax step for one row: m_new = max(*m, max_j s[j]); p[j] = exp(s[j] - m_new) written
// in place of s; *l = *l · exp(*m - m_new) + Σ p; *m = m_new. Returns the factor exp(m_old - m_new)
// the row's accumulator must be scaled by (1 when the row had no key yet and still has none).
float SoftmaxRow(float* s, int n, float* m, float* l);

// y[i] *= a.
void ScaleRow(float* y, int n, float a);

}  // namespace fa_onnx::cpu
