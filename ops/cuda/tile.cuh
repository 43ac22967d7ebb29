// Small warp-level tile primitives for the portable (sm80+) attention kernel: asynchronous copies,
// ldmatrix, the m16n8k16 tensor-core MMA, the swizzled shared-memory layout, and conversions.
// Every hardware detail of the kernel lives here, once; fwd_kernel.cuh reads like the algorithm.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstdint>

#include "fa_onnx/attention_params.h"

namespace fa_onnx::cuda::tile {

__device__ __forceinline__ uint32_t smem_addr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// 16-byte global -> shared copy that bypasses registers; when !valid it writes zeros and reads
// nothing (src-size 0), so rows past a sequence's end cost no memory access.
__device__ __forceinline__ void cp_async16(uint32_t dst, const void* src, bool valid) {
  const int n = valid ? 16 : 0;
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(n));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }

// Four 8x8 b16 matrices; lanes 8i..8i+7 give the row addresses of matrix i.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], uint32_t addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

// c[16x8] += a[16x16] (row) * b[16x8] (col), fp32 accumulators.
template <typename T>
__device__ __forceinline__ void mma16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);

template <>
__device__ __forceinline__ void mma16816<__half>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
template <>
__device__ __forceinline__ void mma16816<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                                        uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats packed as a 16-bit pair (low half = x).
template <typename T>
__device__ __forceinline__ uint32_t pack2(float x, float y);
template <>
__device__ __forceinline__ uint32_t pack2<__half>(float x, float y) {
  __half2 h = __floats2half2_rn(x, y);
  return *reinterpret_cast<uint32_t*>(&h);
}
template <>
__device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float x, float y) {
  __nv_bfloat162 h = __floats2bfloat162_rn(x, y);
  return *reinterpret_cast<uint32_t*>(&h);
}

__device__ __forceinline__ float exp2_approx(float x) {  // ex2(-inf) = 0
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// tanh from ex2 and rcp (two MUFU ops): tanh(x) = 1 - 2 / (1 + 2^(2x·log2 e)). The absolute error
// stays near 1e-7 over the whole range (ex2 saturates to 0 or inf, rcp(inf) = 0), which is what
// softcap needs: its output is a score, so absolute error is what matters. tanhf's branches and
// polynomial cost ~10x more issue slots per score.
__device__ __forceinline__ float tanh_fast(float x) {
  const float t = exp2_approx(x * 2.8853900817779268f);
  float r;
  asm("rcp.approx.ftz.f32 %0, %1;\n" : "=f"(r) : "f"(1.f + t));
  return fmaf(-2.f, r, 1.f);
}

// Shared-memory tile of rows x kChunks 16-byte chunks (kChunks a multiple of 4). The chunk index is
// XOR-swizzled with the row so that the 8 row addresses of one ldmatrix matrix (8 consecutive rows,
// same chunk) fall into 8 different 16-byte bank groups: no bank conflicts, no padding.
// swizzle_mask: what a row's chunk indices are XORed with. It depends on row mod 8 alone, so rows 8 apart share it.
template <int kChunks>
__device__ __forceinline__ int swizzle_mask(int row) {
  static_assert(kChunks % 4 == 0, "tile width must be a multiple of 32 elements");
  if constexpr (kChunks % 8 == 0) {
    return row & 7;
  } else {  // rows of 4 mod 8 chunks: two rows share a 128-byte line, so vary by row/2
    return (row >> 1) & 3;
  }
}
template <int kChunks>
__device__ __forceinline__ int swizzle(int row, int chunk) {
  return row * kChunks + (chunk ^ swizzle_mask<kChunks>(row));
}

// One fixed 16-byte column of a tile's rows: copy i (i < kCopies) moves the chunk at src + i·step
// (elements) to shared byte address (i odd ? dst1 : dst0) + i·kDstStride. With kCheck, copy i is
// valid iff i·kRowStep < rows_left (the rows left from this thread's first one); an invalid copy
// reads nothing and zero-fills from `fallback`, a valid address. Without kCheck every copy is valid
// (a full tile). All offsets are immediates once unrolled: per chunk one cp.async from a base pointer.
template <int kCopies, int kRowStep, int kDstStride, bool kCheck, typename T>
__device__ __forceinline__ void copy_rows(uint32_t dst0, uint32_t dst1, const T* src, int64_t step, int rows_left,
                                          const void* fallback) {
#pragma unroll
  for (int i = 0; i < kCopies; ++i, src += step) {
    const bool valid = !kCheck || i * kRowStep < rows_left;
    cp_async16((i & 1 ? dst1 : dst0) + i * kDstStride, valid ? static_cast<const void*>(src) : fallback, valid);
  }
}

// FP8 e4m3 -> float (exact: every e4m3 value is a half).
__device__ __forceinline__ float2 fp8x2_to_float2(uint16_t v) {
  __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(static_cast<__nv_fp8x2_storage_t>(v), __NV_E4M3);
  return __half22float2(*reinterpret_cast<__half2*>(&h));
}

// One element of any input dtype as float (slow path: epilogue averages, bias).
__device__ __forceinline__ float load_as_float(const void* base, int64_t e, DType dt) {
  switch (dt) {
    case DType::kFloat16: return __half2float(static_cast<const __half*>(base)[e]);
    case DType::kBFloat16: return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[e]);
    case DType::kFloat32: return static_cast<const float*>(base)[e];
    case DType::kFloat8E4M3: {
      __half_raw h = __nv_cvt_fp8_to_halfraw(static_cast<const __nv_fp8_storage_t*>(base)[e], __NV_E4M3);
      return __half2float(__half(h));
    }
  }
  return 0.f;
}

// Global -> shared copy of one 16-byte chunk (8 elements) of a tile. Native fp16/bf16 tiles go
// through cp.async; float32 and FP8 inputs (kConvert) are loaded, converted to T (bf16) and stored.
template <typename T, bool kConvert>
__device__ __forceinline__ void load_chunk(T* dst, const void* base, int64_t e, bool valid, DType dt) {
  if constexpr (!kConvert) {
    cp_async16(smem_addr(dst), valid ? static_cast<const void*>(static_cast<const T*>(base) + e) : base, valid);
  } else {
    uint4 out = make_uint4(0, 0, 0, 0);
    if (valid) {
      if (dt == DType::kFloat32) {
        const float4* s = reinterpret_cast<const float4*>(static_cast<const float*>(base) + e);
        const float4 a = __ldg(s), b = __ldg(s + 1);
        out = make_uint4(pack2<T>(a.x, a.y), pack2<T>(a.z, a.w), pack2<T>(b.x, b.y), pack2<T>(b.z, b.w));
      } else {  // FP8 e4m3
        const uint2 raw = __ldg(reinterpret_cast<const uint2*>(static_cast<const uint8_t*>(base) + e));
        const float2 f0 = fp8x2_to_float2(raw.x & 0xffff), f1 = fp8x2_to_float2(raw.x >> 16);
        const float2 f2 = fp8x2_to_float2(raw.y & 0xffff), f3 = fp8x2_to_float2(raw.y >> 16);
        out = make_uint4(pack2<T>(f0.x, f0.y), pack2<T>(f1.x, f1.y), pack2<T>(f2.x, f2.y), pack2<T>(f3.x, f3.y));
      }
    }
    *reinterpret_cast<uint4*>(dst) = out;
  }
}

}  // namespace fa_onnx::cuda::tile
