// Does compute-sanitizer's racecheck see the Hopper kernel's mbarrier handoffs as synchronisation?
// The kernel hands its tile index from the producer warp to the consumer warps through shared memory,
// ordered by mbarrier arrive (release) and try_wait.parity (acquire) (flash_fwd.cuh). This probe
// repeats that handoff with the kernel's own primitives, next to two controls: the same handoff by
// __syncthreads (racecheck must stay silent) and with no synchronisation at all (it must report).
//   nvcc -std=c++17 -arch=sm_90a -Iops -Iops/include -Iops/cuda/hopper -o /tmp/probe test/gpu/hopper/racecheck_probe.cu
//   compute-sanitizer --tool racecheck /tmp/probe mbarrier|syncthreads|none
#include <cstdio>
#include <cstring>

#include "primitives.cuh"

using namespace fa_onnx::cuda::hopper;

// Warp 0 writes `rounds` values; warps 1-2 read each one after the handoff and release the slot.
__global__ void Handoff(int mode, int rounds, int* out) {
  __shared__ int slot;
  __shared__ uint64_t full, empty;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (threadIdx.x == 0) {
    BarrierInit(&full, 1);
    BarrierInit(&empty, 2);  // one arrival per consumer warp, as the kernel's q_empty
    BarrierInitFence();
  }
  __syncthreads();
  int sum = 0;
  for (int r = 0; r < rounds; ++r) {
    if (mode == 0) {  // mbarrier, as the Hopper kernel
      if (warp == 0) {
        if (lane == 0) {
          BarrierWait(&empty, (r & 1) ^ 1);
          slot = r + 1;
          BarrierArrive(&full);
        }
      } else {
        BarrierWait(&full, r & 1);
        sum += slot;
        __syncwarp();
        if (lane == 0) BarrierArrive(&empty);
      }
    } else if (mode == 1) {  // __syncthreads: the control that racecheck understands
      if (threadIdx.x == 0) slot = r + 1;
      __syncthreads();
      if (warp != 0) sum += slot;
      __syncthreads();
    } else {  // nothing: a real race
      if (threadIdx.x == 0) slot = r + 1;
      if (warp != 0) sum += slot;
    }
  }
  if (warp != 0) atomicAdd(out, sum);
}

int main(int argc, char** argv) {
  const char* name = argc > 1 ? argv[1] : "mbarrier";
  const int mode = std::strcmp(name, "mbarrier") == 0 ? 0 : std::strcmp(name, "syncthreads") == 0 ? 1 : 2;
  const int rounds = 8;
  int* out = nullptr;
  cudaMalloc(&out, sizeof(int));
  cudaMemset(out, 0, sizeof(int));
  Handoff<<<1, 96>>>(mode, rounds, out);
  int got = 0;
  const cudaError_t err = cudaMemcpy(&got, out, sizeof(int), cudaMemcpyDeviceToHost);
  const int want = 64 * rounds * (rounds + 1) / 2;  // 64 consumer threads read 1..rounds
  std::printf("%s: %s, sum %d (expected %d when synchronised)\n", name, cudaGetErrorString(err), got, want);
  return err == cudaSuccess && (mode == 2 || got == want) ? 0 : 1;
}
