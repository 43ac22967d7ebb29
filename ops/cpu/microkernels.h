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

// kt[d][j] = k[j][d] for j < n ≤ kKeyTile, d < depth: float32 key rows (row stride ldk) into the
// transposed tile ScoreTile reads (row stride kKeyTile). Columns from n on are left as they are.
void TransposeKeys(const float* k, long ldk, float* kt, int n, int depth);

// o[r][c] = alpha[r] · o[r][c] + Σ_{j < keys} p[r][j] · v[j][c] for r < rows, c < cols (a multiple of
// kColBlock): the online-softmax rescale is applied as the accumulator is loaded, so it costs no pass.
// p: rows × kKeyTile; v: keys rows of at least cols floats, row stride ldv (the input itself when it
// is float32); o: rows × cols.
void AccumulateTile(const float* p, const float* v, long ldv, float* o, int rows, int keys, int cols,
                    const float* alpha);

// Online-softmax step for rows r < rows of a score tile (row stride kKeyTile), keys j < n: per row,
// m_new = max(m[r], max_j s[j]); p[j] = exp(s[j] - m_new) written in place of s;
// l[r] = l[r] · alpha[r] + Σ p with alpha[r] = exp(m[r] - m_new) (1 when the row had no key yet and
// still has none), the factor the row's accumulator must be scaled by; m[r] = m_new.
// One call per tile: the rows are independent, so the CPU overlaps their reductions.
void SoftmaxTile(float* s, int rows, int n, float* m, float* l, float* alpha);

}  // namespace fa_onnx::cpu
