// The CUDA provider's entry points (fa_onnx/kernels.h): checks what the kernels support, picks the
// kernel by architecture, dtype and head dim, splits the keys when the grid would not fill the GPU,
// and turns CUDA errors into messages. Never synchronises the host.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>

#include "aux_kernels.h"
#include "fa_onnx/kernels.h"
#include "fwd_kernel.cuh"
#ifdef FA_ONNX_HAVE_HOPPER
#include "hopper/hopper_attention.h"
#endif

namespace fa_onnx::cuda {
namespace {

struct DeviceInfo {
  int major = 0, minor = 0, sms = 0, smem_optin = 0;
};

std::string device_info(DeviceInfo* out) {
  static std::mutex mu;
  static DeviceInfo cache[64];
  static bool known[64] = {};
  int dev = 0;
  cudaError_t err = cudaGetDevice(&dev);
  if (err != cudaSuccess) return std::string("CUDA: cudaGetDevice failed: ") + cudaGetErrorString(err);
  std::lock_guard<std::mutex> lock(mu);
  if (dev >= 0 && dev < 64 && known[dev]) {
    *out = cache[dev];
    return "";
  }
  DeviceInfo d;
  if ((err = cudaDeviceGetAttribute(&d.major, cudaDevAttrComputeCapabilityMajor, dev)) != cudaSuccess ||
      (err = cudaDeviceGetAttribute(&d.minor, cudaDevAttrComputeCapabilityMinor, dev)) != cudaSuccess ||
      (err = cudaDeviceGetAttribute(&d.sms, cudaDevAttrMultiProcessorCount, dev)) != cudaSuccess ||
      (err = cudaDeviceGetAttribute(&d.smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev)) != cudaSuccess)
    return std::string("CUDA: reading device attributes failed: ") + cudaGetErrorString(err);
  if (dev >= 0 && dev < 64) {
    cache[dev] = d;
    known[dev] = true;
  }
  *out = d;
  return "";
}

template <int kD, int kVar>
constexpr int2 tile_of() { return int2{FwdConfig<kD, false, kVar>::kBM, FwdConfig<kD, false, kVar>::kBN}; }
// The plain kernel's tile for the shape the launch will pick (general calls are sized by the default
// plain tile, as before: the same at D <= 128).
template <int kD>
int2 blocks_of(const AttentionParams& p) {
  if (needs_general(p)) return tile_of<kD, kMainShape>();
  switch (shape_variant<kD, false>(p)) {
    case kSmallSmemShape: return tile_of<kD, kSmallSmemShape>();
    case kShortShape: return tile_of<kD, kShortShape>();
    case kLongShape: return tile_of<kD, kLongShape>();
    default: return tile_of<kD, kMainShape>();
  }
}
int2 block_mn(int d, const AttentionParams& p) {  // query rows and keys per CTA tile of the head dim's instantiation
  switch (d) {
    case 32: return blocks_of<32>(p);
    case 64: return blocks_of<64>(p);
    case 80: return blocks_of<80>(p);
    case 96: return blocks_of<96>(p);
    case 128: return blocks_of<128>(p);
    case 160: return blocks_of<160>(p);
    case 192: return blocks_of<192>(p);
    default: return blocks_of<256>(p);
  }
}

// The instantiated head dim a call runs on: the smallest kernel at least as wide as D and Dv (a
// narrower head runs with zero-filled columns). 0: none (D or Dv not a multiple of 8, or above 256).
int kernel_dim(int d, int dv) {
  if (d < 8 || dv < 8 || d % 8 != 0 || dv % 8 != 0) return 0;
  for (int k : {32, 64, 80, 96, 128, 160, 192, 256})
    if (d <= k && dv <= k) return k;
  return 0;
}

bool aligned(const void* ptr, size_t bytes) { return reinterpret_cast<uintptr_t>(ptr) % bytes == 0; }

template <typename View>
bool strides_ok(const View& v, int64_t mult) {
  return v.batch_stride % mult == 0 && v.seq_stride % mult == 0 && v.head_stride % mult == 0;
}

template <int kD>
cudaError_t launch_dtype(const AttentionParams& p, const SplitArgs& sa, cudaStream_t s) {
  switch (p.dtype) {
    case DType::kFloat16: return launch_fwd<__half, kD, false>(p, sa, s);
    case DType::kBFloat16: return launch_fwd<__nv_bfloat16, kD, false>(p, sa, s);
    default: return launch_fwd<__nv_bfloat16, kD, true>(p, sa, s);  // fp32, FP8: converted on load
  }
}

cudaError_t launch(const AttentionParams& p, const SplitArgs& sa, cudaStream_t s) {
  switch (kernel_dim(p.head_dim, p.head_dim_v)) {
    case 32: return launch_dtype<32>(p, sa, s);
    case 64: return launch_dtype<64>(p, sa, s);
    case 80: return launch_dtype<80>(p, sa, s);
    case 96: return launch_dtype<96>(p, sa, s);
    case 128: return launch_dtype<128>(p, sa, s);
    case 160: return launch_dtype<160>(p, sa, s);
    case 192: return launch_dtype<192>(p, sa, s);
    default: return launch_dtype<256>(p, sa, s);
  }
}

}  // namespace

int device_smem_optin() {
  DeviceInfo d;
  return device_info(&d).empty() ? d.smem_optin : 0;  // 0: take the small-memory shape
}

std::string DeviceCapability(int* cc_major, int* cc_minor) {
  DeviceInfo d;
  std::string err = device_info(&d);
  if (!err.empty()) return err;
  *cc_major = d.major;
  *cc_minor = d.minor;
  return "";
}

std::string Unsupported(const AttentionParams& p, int cc_major, int cc_minor) {
  const std::string cc = std::to_string(cc_major) + "." + std::to_string(cc_minor);
  if (cc_major < 8) return "the CUDA kernels need compute capability 8.0 or newer (this device has " + cc + ")";
  if (kernel_dim(p.head_dim, p.head_dim_v) == 0)
    return "head dim " + std::to_string(p.head_dim) + " / value head dim " + std::to_string(p.head_dim_v) +
           " is not supported on CUDA (both must be multiples of 8, from 8 to 256)";
  if (p.heads_kv <= 0 || p.heads_q <= 0 || p.heads_q % p.heads_kv != 0)
    return "query heads (" + std::to_string(p.heads_q) + ") must be a positive multiple of key/value heads (" +
           std::to_string(p.heads_kv) + ")";
  if (p.heads_q > 65535) return "more than 65535 query heads are not supported on CUDA";
  if (p.batch > 65535) return "a batch larger than 65535 is not supported on CUDA";
  if (p.dtype == DType::kFloat8E4M3 && (!p.q_descale || !p.k_descale || !p.v_descale))
    return "FP8 attention needs q, k and v descale factors";
  if (p.is_varlen() && p.cu_seqlens_k == nullptr) return "varlen attention needs cu_seqlens_k";
  if (p.block_table != nullptr && p.block_size <= 0) return "a paged KV cache needs block_size > 0";
  // 16-byte (8-element) vector loads of q/k/v rows; 2-element vector stores of the output.
  const size_t in_bytes = p.dtype == DType::kFloat8E4M3 ? 8 : 16;  // fp32: two float4 loads per chunk
  const size_t out_elem = p.dtype == DType::kFloat32 ? 4 : 2;
  if (!aligned(p.q.data, in_bytes) || !aligned(p.k.data, in_bytes) || !aligned(p.v.data, in_bytes) ||
      !strides_ok(p.q, 8) || !strides_ok(p.k, 8) || !strides_ok(p.v, 8))
    return "query/key/value must be " + std::to_string(in_bytes) +
           "-byte aligned with strides that are multiples of 8 elements on CUDA";
  if (!aligned(p.o.data, 2 * out_elem) || !strides_ok(p.o, 2))
    return "the output must be aligned to 2 elements with even strides on CUDA";
  return "";
}

// FA_ONNX_LOG_KERNEL=1: which kernel each distinct call shape runs, and why the Hopper kernel was
// passed over, once per distinct line on stderr (to check that a deployed model takes the path meant).
// Callers test LogKernel() first, so that a run without it builds no route string.
bool LogKernel() {
  static const bool on = [] {
    const char* e = std::getenv("FA_ONNX_LOG_KERNEL");
    return e != nullptr && e[0] != '\0' && e[0] != '0';
  }();
  return on;
}

void LogRoute(const AttentionParams& p, const std::string& route) {
  static const char* const kTypes[] = {"float32", "float16", "bfloat16", "float8e4m3"};
  const int type = static_cast<int>(p.dtype);
  const std::string line =
      std::string("fa_onnx CUDA: ") + (type >= 0 && type < 4 ? kTypes[type] : "?") + " D " +
      std::to_string(p.head_dim) + (p.is_varlen() ? " varlen" : "") + " Sq " + std::to_string(p.seqlen_q) +
      " Sk " + std::to_string(p.seqlen_k) + " heads " + std::to_string(p.heads_q) + "/" +
      std::to_string(p.heads_kv) + (p.window_right >= 0 ? " windowed/causal" : "") +
      (p.mask.data != nullptr ? " mask" : "") + (p.bias.data != nullptr ? " bias" : "") +
      (p.key_lengths != nullptr ? " key_lengths" : "") + (p.cache_lengths != nullptr ? " kv-cache" : "") + " -> " + route;
  static std::mutex mu;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lock(mu);
  if (seen.insert(line).second) std::fprintf(stderr, "%s\n", line.c_str());
}

std::string Run(const AttentionParams& p, void* stream, Scratch& scratch) {
  DeviceInfo dev;
  std::string err = device_info(&dev);
  if (!err.empty()) return err;
  err = Unsupported(p, dev.major, dev.minor);
  if (!err.empty()) return err;
  if (p.batch == 0 || p.seqlen_q == 0) return "";
  auto s = static_cast<cudaStream_t>(stream);

#ifdef FA_ONNX_HAVE_HOPPER
  if (dev.major == 9 && dev.minor == 0) {
    const std::string why_not = hopper::Unsupported(p);
    if (LogKernel()) LogRoute(p, why_not.empty() ? "Hopper kernel" : "portable kernel (" + why_not + ")");
    if (why_not.empty()) return hopper::Run(p, stream, scratch);
  } else {
    if (LogKernel()) LogRoute(p, "portable kernel (sm_" + std::to_string(dev.major * 10 + dev.minor) + ")");
  }
#else
  if (LogKernel()) LogRoute(p, "portable kernel (built without the Hopper kernel)");
#endif

  // Split the keys when batch·heads·query-blocks leaves SMs idle (decode, short batches).
  SplitArgs sa;
  if (!p.is_varlen()) {
    const int2 bmn = block_mn(kernel_dim(p.head_dim, p.head_dim_v), p);
    const int64_t tiles = int64_t(p.batch) * p.heads_q * ((p.seqlen_q + bmn.x - 1) / bmn.x);
    const int n_blocks = (p.seqlen_k + bmn.y - 1) / bmn.y;
    if (tiles < dev.sms && n_blocks >= 4) {
      int splits = int((2 * dev.sms + tiles - 1) / tiles);
      splits = std::min({splits, n_blocks / 2, 64, 65535 / std::max(p.batch, 1)});
      const int64_t rows = int64_t(p.batch) * p.heads_q * p.seqlen_q;
      if (splits > 1 && rows * splits * (p.head_dim_v + 1) * 4 <= (int64_t(256) << 20)) {
        sa.num_splits = splits;
        sa.o_partial = static_cast<float*>(scratch.Allocate(size_t(rows) * splits * p.head_dim_v * sizeof(float)));
        sa.lse_partial = static_cast<float*>(scratch.Allocate(size_t(rows) * splits * sizeof(float)));
        if (sa.o_partial == nullptr || sa.lse_partial == nullptr) return "CUDA: scratch allocation failed";
      }
    }
  }

  cudaError_t e = launch(p, sa, s);
  if (e == cudaSuccess && sa.num_splits > 1) e = launch_combine(p, sa, s);
  if (e != cudaSuccess) return std::string("CUDA attention launch failed: ") + cudaGetErrorString(e);
  return "";
}

std::string CopyAsync(void* dst, const void* src, size_t bytes, void* stream) {
  if (bytes == 0 || dst == src) return "";
  cudaError_t e = cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, static_cast<cudaStream_t>(stream));
  return e == cudaSuccess ? "" : std::string("CUDA copy failed: ") + cudaGetErrorString(e);
}

std::string AppendKV(const KVAppendParams& a, void* stream) {
  if (a.batch == 0 || a.new_tokens == 0) return "";
  if (a.heads_kv <= 0) return "KV append needs kv heads > 0";
  if (a.block_table != nullptr && a.block_size <= 0) return "a paged KV cache needs block_size > 0";
  cudaError_t e = launch_append_kv(a, static_cast<cudaStream_t>(stream));
  return e == cudaSuccess ? "" : std::string("CUDA KV append failed: ") + cudaGetErrorString(e);
}

}  // namespace fa_onnx::cuda
