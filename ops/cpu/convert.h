// Scalar conversions between float32 and the storage types the ops accept (float16, bfloat16,
// float8 e4m3fn). Written branch-light so loops over them vectorise.
#pragma once

#include <cstdint>
#include <cstring>

#include "fa_onnx/attention_params.h"

namespace fa_onnx::cpu {

inline float BitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t FloatToBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// IEEE half -> float. Normal numbers: move exponent and mantissa into place and rebias by a
// multiplication (which also turns inf/nan exponents into inf/nan); subnormals: build 0.5 + m·2^-24
// style value and subtract, which is exact.
inline float HalfToFloat(uint16_t h) {
  const uint32_t w = static_cast<uint32_t>(h) << 16;
  const uint32_t sign = w & 0x80000000u;
  const uint32_t twice = w + w;  // drops the sign
  const float normal = BitsToFloat((twice >> 4) + (0xE0u << 23)) * BitsToFloat(0x7800000u);  // 2^-112
  const float sub = BitsToFloat((twice >> 17) | (126u << 23)) - 0.5f;
  const uint32_t mag = twice < (1u << 27) ? FloatToBits(sub) : FloatToBits(normal);
  return BitsToFloat(sign | mag);
}

// float -> IEEE half, round to nearest even; overflow gives inf, NaN stays NaN.
inline uint16_t FloatToHalf(float f) {
  const uint32_t u = FloatToBits(f);
  const uint32_t sign = (u >> 16) & 0x8000u;
  const uint32_t abs = u & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u);  // NaN
  if (abs >= 0x47800000u) return static_cast<uint16_t>(sign | 0x7C00u);  // >= 65536: inf
  if (abs < 0x38800000u) {
    // Result is subnormal (or zero): adding 0.5 lets the FPU round the mantissa at 2^-24 steps.
    const float r = BitsToFloat(abs) + 0.5f;
    return static_cast<uint16_t>(sign | (FloatToBits(r) - 0x3F000000u));
  }
  const uint32_t odd = (abs >> 13) & 1u;
  const uint32_t rounded = abs + 0xFFFu + odd - (112u << 23);  // rebias 127 -> 15
  return static_cast<uint16_t>(sign | (rounded >> 13));
}

inline float BFloat16ToFloat(uint16_t b) { return BitsToFloat(static_cast<uint32_t>(b) << 16); }

inline uint16_t FloatToBFloat16(float f) {
  const uint32_t u = FloatToBits(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

// float8 e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, S.1111.111 is NaN.
inline float Fp8E4M3ToFloat(uint8_t x) {
  const uint32_t sign = static_cast<uint32_t>(x & 0x80u) << 24;
  const uint32_t e = (x >> 3) & 0xFu, m = x & 0x7u;
  if (e == 0xF && m == 0x7) return BitsToFloat(sign | 0x7FC00000u);
  if (e == 0) {
    const float v = static_cast<float>(m) * 0.001953125f;  // m/8 · 2^-6
    return sign ? -v : v;
  }
  return BitsToFloat(sign | ((e + 120u) << 23) | (m << 20));
}

inline size_t ElementSize(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kFloat16:
    case DType::kBFloat16: return 2;
    case DType::kFloat8E4M3: return 1;
  }
  return 4;
}

// Converts n contiguous elements of type t to float32.
inline void ToFloat(DType t, const void* src, float* dst, int n) {
  switch (t) {
    case DType::kFloat32:
      std::memcpy(dst, src, sizeof(float) * n);
      break;
    case DType::kFloat16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      for (int i = 0; i < n; ++i) dst[i] = HalfToFloat(s[i]);
      break;
    }
    case DType::kBFloat16: {
      const uint16_t* s = static_cast<const uint16_t*>(src);
      for (int i = 0; i < n; ++i) dst[i] = BFloat16ToFloat(s[i]);
      break;
    }
    case DType::kFloat8E4M3: {
      const uint8_t* s = static_cast<const uint8_t*>(src);
      for (int i = 0; i < n; ++i) dst[i] = Fp8E4M3ToFloat(s[i]);
      break;
    }
  }
}

inline float LoadOne(DType t, const void* base, int64_t index) {
  switch (t) {
    case DType::kFloat32: return static_cast<const float*>(base)[index];
    case DType::kFloat16: return HalfToFloat(static_cast<const uint16_t*>(base)[index]);
    case DType::kBFloat16: return BFloat16ToFloat(static_cast<const uint16_t*>(base)[index]);
    case DType::kFloat8E4M3: return Fp8E4M3ToFloat(static_cast<const uint8_t*>(base)[index]);
  }
  return 0.f;
}

// Writes n floats as type t (float32, float16 or bfloat16).
inline void FromFloat(DType t, const float* src, void* dst, int n) {
  switch (t) {
    case DType::kFloat32:
      std::memcpy(dst, src, sizeof(float) * n);
      break;
    case DType::kFloat16: {
      uint16_t* d = static_cast<uint16_t*>(dst);
      for (int i = 0; i < n; ++i) d[i] = FloatToHalf(src[i]);
      break;
    }
    case DType::kBFloat16:
    case DType::kFloat8E4M3: {  // FP8 inputs produce bfloat16 outputs
      uint16_t* d = static_cast<uint16_t*>(dst);
      for (int i = 0; i < n; ++i) d[i] = FloatToBFloat16(src[i]);
      break;
    }
  }
}

}  // namespace fa_onnx::cpu
