// libFuzzer target: config.json as create, run and check read it (parseSpec), then the
// seccomp selection that reads linux.seccomp further. Bad input must end in caprun::Error;
// any other exception, a crash or a sanitizer report is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "caprun/error.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        caprun::Spec spec = caprun::parseSpec(text);
        (void)caprun::selectSeccomp(spec, std::nullopt);
    } catch (const caprun::Error&) {
    }
    return 0;
}
