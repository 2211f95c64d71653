// The C CUDA stack's figures for BENCHMARKS.md: the reference that ferrocuda's `gpu_bench`
// example measures itself against, in the same run on the same GPU.
//
// Build and run (on a machine with a GPU and nvcc):
//   nvcc -O3 -arch=sm_90 -o baseline benches/gpu/baseline.cu -lcuda
//   ./baseline benches/gpu/kernels.ptx benches/gpu/kernels.cubin
//
// Output: one line per measurement, `name<TAB>value<TAB>unit<TAB>spread`, where spread is the
// p99 for latencies and the min..max for bandwidths.

#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#define CU(x)                                                                       \
    do {                                                                            \
        CUresult r_ = (x);                                                          \
        if (r_ != CUDA_SUCCESS) {                                                   \
            const char* n_ = nullptr;                                               \
            cuGetErrorName(r_, &n_);                                                \
            std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #x, \
                         n_ ? n_ : "?");                                            \
            std::exit(1);                                                           \
        }                                                                           \
    } while (0)
#define RT(x)                                                                      \
    do {                                                                           \
        cudaError_t e_ = (x);                                                      \
        if (e_ != cudaSuccess) {                                                   \
            std::fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #x, \
                         cudaGetErrorName(e_));                                    \
            std::exit(1);                                                          \
        }                                                                          \
    } while (0)

using Clock = std::chrono::steady_clock;
static double us_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

static double percentile(std::vector<double> v, double p) {
    std::sort(v.begin(), v.end());
    size_t i = std::min(v.size() - 1, (size_t)(p * (v.size() - 1) + 0.5));
    return v[i];
}

static void report(const char* name, std::vector<double>& samples, const char* unit) {
    std::printf("%s\t%.3f\t%s\tp99=%.3f\n", name, percentile(samples, 0.5), unit,
                percentile(samples, 0.99));
}

static void report_bw(const char* name, std::vector<double>& gbps) {
    std::sort(gbps.begin(), gbps.end());
    std::printf("%s\t%.2f\tGB/s\tmin=%.2f max=%.2f\n", name, percentile(gbps, 0.5), gbps.front(),
                gbps.back());
}

extern "C" __global__ void empty_kernel() {}
extern "C" __global__ void args8_kernel(float* a, float* b, float* c, int n, float s, long long k,
                                        unsigned m, double d) {
    if (n < 0) a[0] = b[0] + c[0] + s + (float)k + (float)m + (float)d;
}

static std::string read_file(const char* path) {
    std::ifstream f(path, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

int main(int argc, char** argv) {
    const char* ptx_path = argc > 1 ? argv[1] : "benches/gpu/kernels.ptx";
    const char* cubin_path = argc > 2 ? argv[2] : "benches/gpu/kernels.cubin";
    const int lat_iters = 2000, copy_reps = 20;

    // First-call initialisation: cuInit + primary context, as a runtime user meets it.
    auto t0 = Clock::now();
    RT(cudaFree(nullptr));
    std::printf("init_first_call\t%.1f\tus\t-\n", us_since(t0));

    CU(cuInit(0));
    CUdevice dev;
    CU(cuDeviceGet(&dev, 0));
    CUcontext ctx;
    CU(cuDevicePrimaryCtxRetain(&ctx, dev));
    CU(cuCtxSetCurrent(ctx));
    int drv = 0;
    CU(cuDriverGetVersion(&drv));
    char name[256];
    CU(cuDeviceGetName(name, sizeof name, dev));
    std::printf("device\t%s\tdriver\t%d\n", name, drv);

    // Module loads: PTX (JIT; the driver's JIT cache makes repeats "cached") and cubin.
    std::string ptx = read_file(ptx_path), cubin = read_file(cubin_path);
    for (int pass = 0; pass < 2; ++pass) {
        std::vector<double> s;
        for (int i = 0; i < (pass == 0 ? 1 : 20); ++i) {
            CUmodule m;
            auto t = Clock::now();
            CU(cuModuleLoadData(&m, ptx.c_str()));
            s.push_back(us_since(t));
            CU(cuModuleUnload(m));
        }
        report(pass == 0 ? "module_load_ptx_first" : "module_load_ptx_again", s, "us");
    }
    {
        std::vector<double> s;
        for (int i = 0; i < 20; ++i) {
            CUmodule m;
            auto t = Clock::now();
            CU(cuModuleLoadData(&m, cubin.data()));
            s.push_back(us_since(t));
            CU(cuModuleUnload(m));
        }
        report("module_load_cubin", s, "us");
    }

    CUmodule mod;
    CU(cuModuleLoadData(&mod, ptx.c_str()));
    CUfunction f_empty, f_args8;
    CU(cuModuleGetFunction(&f_empty, mod, "empty_kernel"));
    CU(cuModuleGetFunction(&f_args8, mod, "args8_kernel"));
    CUstream stream;
    CU(cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING));

    CUdeviceptr pa, pb, pc;
    CU(cuMemAlloc(&pa, 256));
    CU(cuMemAlloc(&pb, 256));
    CU(cuMemAlloc(&pc, 256));
    int n = 1;
    float s = 2.0f;
    long long k = 3;
    unsigned m = 4;
    double d = 5.0;
    void* args8[] = {&pa, &pb, &pc, &n, &s, &k, &m, &d};

    // Launch enqueue cost: bursts of `burst` launches timed, then synchronised untimed, so the
    // driver's queue never fills and the figure is the host's cost per launch, not the GPU's
    // kernel throughput. Median (and p99) over `bursts` bursts, after 20 warm-up bursts.
    const int burst = 128, bursts = 400;
    cudaStream_t rs = (cudaStream_t)stream;
    float* fa = (float*)pa;
    auto enqueue = [&](const char* name, auto&& launch_one) {
        std::vector<double> per;
        for (int b = 0; b < bursts + 20; ++b) {
            auto t = Clock::now();
            for (int i = 0; i < burst; ++i) launch_one();
            double v = us_since(t) / burst;
            CU(cuStreamSynchronize(stream));
            if (b >= 20) per.push_back(v);
        }
        report(name, per, "us/launch");
    };
    enqueue("launch_enqueue_empty_cuLaunchKernel", [&] {
        CU(cuLaunchKernel(f_empty, 1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr));
    });
    enqueue("launch_enqueue_args8_cuLaunchKernel", [&] {
        CU(cuLaunchKernel(f_args8, 1, 1, 1, 32, 1, 1, 0, stream, args8, nullptr));
    });
    enqueue("launch_enqueue_empty_cudart", [&] {
        empty_kernel<<<1, 32, 0, rs>>>();
        RT(cudaGetLastError());
    });
    enqueue("launch_enqueue_args8_cudart", [&] {
        args8_kernel<<<1, 32, 0, rs>>>(fa, fa, fa, n, s, k, m, d);
        RT(cudaGetLastError());
    });
    // Launch + synchronise round trip.
    {
        std::vector<double> lat;
        for (int i = 0; i < lat_iters; ++i) {
            auto t = Clock::now();
            CU(cuLaunchKernel(f_empty, 1, 1, 1, 32, 1, 1, 0, stream, nullptr, nullptr));
            CU(cuStreamSynchronize(stream));
            lat.push_back(us_since(t));
        }
        report("launch_sync_roundtrip_cuLaunchKernel", lat, "us");
        lat.clear();
        for (int i = 0; i < lat_iters; ++i) {
            auto t = Clock::now();
            empty_kernel<<<1, 32, 0, rs>>>();
            RT(cudaStreamSynchronize(rs));
            lat.push_back(us_since(t));
        }
        report("launch_sync_roundtrip_cudart", lat, "us");
    }

    // Allocation cost.
    {
        std::vector<double> a, f;
        for (int i = 0; i < 200; ++i) {
            CUdeviceptr p;
            auto t = Clock::now();
            CU(cuMemAlloc(&p, 1 << 20));
            a.push_back(us_since(t));
            t = Clock::now();
            CU(cuMemFree(p));
            f.push_back(us_since(t));
        }
        report("alloc_1MiB", a, "us");
        report("free_1MiB", f, "us");
    }

    // Copies at 256 MiB.
    const size_t bytes = 256u << 20;
    CUdeviceptr dsrc, ddst;
    CU(cuMemAlloc(&dsrc, bytes));
    CU(cuMemAlloc(&ddst, bytes));
    void* pinned;
    CU(cuMemAllocHost(&pinned, bytes));
    std::vector<unsigned char> pageable(bytes);
    std::memset(pinned, 1, bytes);
    std::memset(pageable.data(), 2, bytes);
    auto bw = [&](const char* name, auto&& op, double factor) {
        op();  // warm-up
        std::vector<double> g;
        for (int i = 0; i < copy_reps; ++i) {
            auto t = Clock::now();
            op();
            g.push_back(factor * bytes / (us_since(t) * 1e3));
        }
        report_bw(name, g);
    };
    bw("memcpy_h2d_pinned_cudart", [&] { RT(cudaMemcpy((void*)dsrc, pinned, bytes, cudaMemcpyHostToDevice)); }, 1);
    bw("memcpy_d2h_pinned_cudart", [&] { RT(cudaMemcpy(pinned, (void*)dsrc, bytes, cudaMemcpyDeviceToHost)); }, 1);
    bw("memcpy_h2d_pageable_cudart", [&] { RT(cudaMemcpy((void*)dsrc, pageable.data(), bytes, cudaMemcpyHostToDevice)); }, 1);
    bw("memcpy_d2h_pageable_cudart", [&] { RT(cudaMemcpy(pageable.data(), (void*)dsrc, bytes, cudaMemcpyDeviceToHost)); }, 1);
    // D2D counted as bytes read plus bytes written.
    bw("memcpy_d2d_cudart", [&] {
        RT(cudaMemcpy((void*)ddst, (void*)dsrc, bytes, cudaMemcpyDeviceToDevice));
        RT(cudaDeviceSynchronize());  // device-to-device copies return before they finish
    }, 2);
    bw("memcpy_h2d_pageable_cuMemcpyHtoD", [&] { CU(cuMemcpyHtoD(dsrc, pageable.data(), bytes)); }, 1);
    bw("memcpy_d2h_pageable_cuMemcpyDtoH", [&] { CU(cuMemcpyDtoH(pageable.data(), dsrc, bytes)); }, 1);
    {
        std::vector<double> lat;
        int word = 7;
        for (int i = 0; i < lat_iters; ++i) {
            auto t = Clock::now();
            RT(cudaMemcpy((void*)dsrc, &word, 4, cudaMemcpyHostToDevice));
            lat.push_back(us_since(t));
        }
        report("memcpy_4B_h2d_cudart", lat, "us");
        lat.clear();
        for (int i = 0; i < lat_iters; ++i) {
            auto t = Clock::now();
            RT(cudaMemcpy(&word, (void*)dsrc, 4, cudaMemcpyDeviceToHost));
            lat.push_back(us_since(t));
        }
        report("memcpy_4B_d2h_cudart", lat, "us");
    }
    CU(cuMemFreeHost(pinned));
    CU(cuMemFree(dsrc));
    CU(cuMemFree(ddst));
    return 0;
}
