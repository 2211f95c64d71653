/* A stand-in for libcuda that exercises the loader without a GPU.
 *
 * Compiled by the unit tests of `nvidia::sys` with:
 *   -DFAKE_VERSION=<n>      what cuDriverGetVersion reports
 *   -DWITH_V2 / -DWITH_V1   which cuGetProcAddress variants are exported
 *   -DRESOLVE_NOTHING       every lookup reports "symbol not found"
 * Every cuGetProcAddress request is recorded so the tests can check which names and ABI
 * versions the loader asked for. Resolved entry points are a stub that is never called.
 */
#include <stdint.h>
#include <string.h>

typedef int CUresult;

#define MAX_REQUESTS 512
static int request_count;
static char request_names[MAX_REQUESTS][64];
static int request_versions[MAX_REQUESTS];

static void record(const char *symbol, int version) {
    if (request_count < MAX_REQUESTS) {
        strncpy(request_names[request_count], symbol, 63);
        request_versions[request_count] = version;
        request_count++;
    }
}

int fake_request_count(void) { return request_count; }
const char *fake_request_name(int i) { return request_names[i]; }
int fake_request_version(int i) { return request_versions[i]; }

static CUresult stub(void) { return 999; }

CUresult cuDriverGetVersion(int *version) {
    if (!version) return 1;
    *version = FAKE_VERSION;
    return 0;
}

static CUresult lookup(const char *symbol, void **pfn, int version, int *status) {
    record(symbol, version);
    *pfn = 0;
    if (version > FAKE_VERSION) {
        /* As documented: a version newer than the driver is an invalid value. */
        if (status) *status = 2;
        return 1;
    }
#ifdef RESOLVE_NOTHING
    if (status) *status = 1;
    return 0;
#else
    *pfn = (void *)stub;
    if (status) *status = 0;
    return 0;
#endif
}

#ifdef WITH_V2
CUresult cuGetProcAddress_v2(const char *symbol, void **pfn, int version, uint64_t flags,
                             int *status) {
    (void)flags;
    return lookup(symbol, pfn, version, status);
}
#endif

#ifdef WITH_V1
CUresult cuGetProcAddress(const char *symbol, void **pfn, int version, uint64_t flags) {
    (void)flags;
    return lookup(symbol, pfn, version, 0);
}
#endif
