// Process-wide runtime settings (core/base/runtime): the allocator tuning that keeps a forward pass's
// buffers in the heap between batches, its opt-outs, and the start-up report that says which is in force.
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "core/base/runtime.h"
#include "tests/support/check.h"

using namespace zs;

ZS_TEST(tunedAllocatorKeepsLargeBuffersInTheHeap) {
#if !defined(__GLIBC__)
  ZS_SKIP("not glibc: the allocator is left alone");
#else
  if (runtime::mallocTunedByEnvironment()) ZS_SKIP("malloc is tuned by this test's environment");
  ZS_CHECK(!runtime::allocatorTuned());
  ZS_CHECK(runtime::tuneAllocator());
  ZS_CHECK(runtime::allocatorTuned());
  ZS_CHECK(!runtime::tuneAllocator());  // once per process
  ZS_CHECK(runtime::startupReport().find("malloc tuned") != std::string::npos);

  // A 100 MiB buffer (the size of zscope-4l's logits for a batch of 16 x 128) comes from the heap, not
  // from its own mapping, and freeing it leaves the heap in place for the next batch.
  const size_t size = 100u << 20;
  const struct mallinfo2 before = mallinfo2();
  auto* p = static_cast<unsigned char*>(std::malloc(size));
  ZS_CHECK(p != nullptr);
  std::memset(p, 1, size);
  const struct mallinfo2 during = mallinfo2();
  ZS_CHECK_EQ(during.hblkhd, before.hblkhd);  // bytes in mmapped blocks: unchanged
  ZS_CHECK(during.arena >= before.arena + size);
  std::free(p);
  const struct mallinfo2 after = mallinfo2();
  ZS_CHECK(after.arena >= before.arena + size);  // not trimmed
  ZS_CHECK(after.fordblks >= size);               // free in the heap, ready for reuse
#endif
}

// The opt-outs, seen from outside: the CLI's start-up report (ZSCOPE_VERBOSE=1) names the allocator state.
ZS_TEST(cliReportsTheAllocatorAndHonoursOptOuts) {
  ZS_REQUIRE_CLI(cli);
  const std::string model = std::string(std::getenv("ZSCOPE_DATA_DIR") ? std::getenv("ZSCOPE_DATA_DIR") : "data") +
                            "/models/zscope-4l";
  auto report = [&](const std::string& env) {
    const auto r = test::runProcess(
        {"/usr/bin/env", "ZSCOPE_VERBOSE=1", env, cli, "tokenize", "--model", model, "--text", "hi", "--threads", "1"});
    ZS_CHECK_EQ(r.code, 0);
    return r.err;
  };
#if defined(__GLIBC__)
  ZS_CHECK(report("ZSCOPE_UNRELATED=1").find("malloc tuned") != std::string::npos);
#endif
  ZS_CHECK(report("ZSCOPE_MALLOC=default").find("malloc default") != std::string::npos);
  ZS_CHECK(report("GLIBC_TUNABLES=glibc.malloc.trim_threshold=1048576").find("malloc default") != std::string::npos);
  ZS_CHECK(report("MALLOC_TOP_PAD_=0").find("malloc default") != std::string::npos);
}
