// Hopper building blocks for the attention kernel: mbarriers, TMA tile loads, wgmma descriptors and
// fences, register reallocation and named barriers. Each is a thin inline-PTX wrapper, so the kernel
// (flash_fwd.cuh) reads as the algorithm and the hardware details live here, once.
#pragma once

#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cstdint>

#include "../tile.cuh"
#include "wgmma_ops.cuh"

namespace fa_onnx::cuda::hopper {

__device__ inline uint32_t SmemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// ---- mbarrier: completion of TMA transfers and hand-off between producer and consumers ----

__device__ inline void BarrierInit(uint64_t* bar, int arrivals) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(SmemAddr(bar)), "r"(arrivals));
}

// Makes the initialised barriers visible to the async (TMA) proxy before anyone uses them.
__device__ inline void BarrierInitFence() {
  asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
}

__device__ inline void BarrierArrive(uint64_t* bar) {
  asm volatile("{\n.reg .b64 st;\nmbarrier.arrive.shared::cta.b64 st, [%0];\n}" ::"r"(SmemAddr(bar))
               : "memory");
}

// One arrival that also announces `bytes` of TMA traffic the barrier must see before it completes.
__device__ inline void BarrierArriveExpectTx(uint64_t* bar, uint32_t bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(SmemAddr(bar)), "r"(bytes)
               : "memory");
}

// Spins until the barrier's phase with this parity has completed.
__device__ inline void BarrierWait(uint64_t* bar, uint32_t parity) {
  asm volatile(
      "{\n.reg .pred done;\n"
      "WAIT_%=:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT_%=;\n}" ::"r"(SmemAddr(bar)),
      "r"(parity)
      : "memory");
}

// ---- TMA: a box of a 4-D tensor (dim, seq, head, batch) into swizzled shared memory ----

__device__ inline void TmaLoad4D(void* smem_dst, const CUtensorMap* map, uint64_t* bar, int c0, int c1, int c2,
                                 int c3) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%3, %4, %5, %6}], [%2];" ::"r"(SmemAddr(smem_dst)),
      "l"(reinterpret_cast<uint64_t>(map)), "r"(SmemAddr(bar)), "r"(c0), "r"(c1), "r"(c2), "r"(c3)
      : "memory");
}

// The reverse: a box of swizzled shared memory out to the tensor, rows past the tensor's extent left
// unwritten (TMA clips them). Asynchronous: the issuing thread commits the stores as a group and must
// wait for that group to have read shared memory (TmaStoreWaitRead) before the bytes are rewritten or
// the CTA exits. The writers' generic-proxy stores must be fenced (FenceProxyAsync) first.
__device__ inline void TmaStore4D(const CUtensorMap* map, const void* smem_src, int c0, int c1, int c2, int c3) {
  asm volatile("cp.async.bulk.tensor.4d.global.shared::cta.bulk_group [%0, {%2, %3, %4, %5}], [%1];" ::"l"(
                   reinterpret_cast<uint64_t>(map)),
               "r"(SmemAddr(smem_src)), "r"(c0), "r"(c1), "r"(c2), "r"(c3)
               : "memory");
}
__device__ inline void TmaStoreCommit() { asm volatile("cp.async.bulk.commit_group;" ::: "memory"); }
__device__ inline void TmaStoreWaitRead() { asm volatile("cp.async.bulk.wait_group.read 0;" ::: "memory"); }
// Makes this thread's shared-memory writes visible to the async proxy (the TMA engine).
__device__ inline void FenceProxyAsync() { asm volatile("fence.proxy.async.shared::cta;" ::: "memory"); }

__device__ inline void TmaPrefetchDescriptor(const CUtensorMap* map) {
  asm volatile("prefetch.tensormap [%0];" ::"l"(reinterpret_cast<uint64_t>(map)) : "memory");
}

// ---- wgmma ----

// Shared-memory matrix descriptor for a tile stored in 128-byte-swizzled rows of 64 16-bit elements
// (the layout TMA writes with CU_TENSOR_MAP_SWIZZLE_128B). `leading` and `stride` are byte offsets:
// K-major operands use stride = 1024 (eight 128-byte rows) and ignore leading; MN-major operands
// use leading = distance between 64-element column blocks, stride = 1024 (eight rows along K).
__device__ inline uint64_t SmemDescriptor(const void* p, uint32_t leading, uint32_t stride) {
  uint64_t desc = 0;
  desc |= static_cast<uint64_t>((SmemAddr(p) & 0x3FFFF) >> 4);
  desc |= static_cast<uint64_t>((leading >> 4) & 0x3FFF) << 16;
  desc |= static_cast<uint64_t>((stride >> 4) & 0x3FFF) << 32;
  desc |= static_cast<uint64_t>(1) << 62;  // 128-byte swizzle
  return desc;
}

// The descriptor of the operand `bytes` (a multiple of 16) past `base` with byte offset `leading`, from
// `base` = SmemDescriptor(p, 0, stride): one 32-bit add on the low word, since the 14-bit address field
// never carries (shared addresses stay below 2^18) and base's leading field is zero. Lets the kernel
// keep one descriptor live and step it by constants instead of building one from a pointer per wgmma.
__device__ inline uint64_t DescriptorAt(uint64_t base, uint32_t bytes, uint32_t leading) {
  const uint32_t lo = static_cast<uint32_t>(base) + (bytes >> 4) + (((leading >> 4) & 0x3FFF) << 16);
  return (base & 0xFFFFFFFF00000000ull) | lo;
}

__device__ inline void WgmmaFence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ inline void WgmmaCommit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
template <int Pending>
__device__ inline void WgmmaWait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(Pending) : "memory");
}

// Pins an accumulator array in place around async wgmma: the compiler must not move reads or writes
// of these registers across this point (it does not know wgmma runs in the background).
template <int N>
__device__ inline void FenceRegisters(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N>
__device__ inline void FenceRegisters(uint32_t (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}

template <int M, int N>
__device__ inline void FenceRegisters(uint32_t (&r)[M][N]) {
#pragma unroll
  for (int i = 0; i < M; ++i) FenceRegisters(r[i]);
}

// ---- warp specialisation ----

template <int Regs>
__device__ inline void RegistersRelease() {
  asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;" ::"n"(Regs));
}
template <int Regs>
__device__ inline void RegistersClaim() {
  asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;" ::"n"(Regs));
}

__device__ inline void NamedBarrierSync(int id, int threads) {
  asm volatile("bar.sync %0, %1;" ::"r"(id), "r"(threads) : "memory");
}
__device__ inline void NamedBarrierArrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;" ::"r"(id), "r"(threads) : "memory");
}

__device__ inline bool ElectOne() {
  uint32_t pred = 0;
  asm volatile(
      "{\n.reg .pred p;\n.reg .b32 r;\n"
      "elect.sync r|p, 0xffffffff;\n"
      "selp.u32 %0, 1, 0, p;\n}"
      : "=r"(pred));
  return pred != 0;
}

// ---- numerics ----

// ex2 and 16-bit packing: the portable kernel's (../tile.cuh: tile::exp2_approx, tile::pack2).

// One 16-bit value (the low or high half of a packed pair) as float.
template <typename T>
__device__ inline float HalfToFloat(uint32_t packed, int hi);
template <>
__device__ inline float HalfToFloat<__nv_bfloat16>(uint32_t packed, int hi) {
  return __uint_as_float(hi ? (packed & 0xFFFF0000u) : (packed << 16));
}
template <>
__device__ inline float HalfToFloat<__half>(uint32_t packed, int hi) {
  return __half2float(__ushort_as_half(static_cast<unsigned short>(hi ? packed >> 16 : packed & 0xFFFFu)));
}

}  // namespace fa_onnx::cuda::hopper
