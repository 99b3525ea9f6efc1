#include "caprun/update_flags.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <limits>

#include "caprun/error.hpp"

namespace caprun {

const std::vector<std::string>& updateFlagNames() {
    static const std::vector<std::string> names = {
        "memory",          "memory-reservation", "memory-swap", "cpu-share",     "cpu-shares",
        "cpu-quota",       "cpu-period",         "cpu-burst",   "cpu-rt-period", "cpu-rt-runtime",
        "cpu-idle",        "cpuset-cpus",        "cpuset-mems", "pids-limit",    "blkio-weight",
        "l3-cache-schema", "mem-bw-schema"};
    return names;
}

namespace {

[[noreturn]] void bad(const std::string& flag, const std::string& text, const std::string& want) {
    throw Error("update --" + flag + ": invalid value \"" + text + "\" (" + want + ")");
}

std::uint64_t parseUnsigned(const std::string& flag, const std::string& text) {
    const std::string want = "a whole number, 0 or more";
    if (text.empty() || !std::all_of(text.begin(), text.end(), ::isdigit)) bad(flag, text, want);
    errno = 0;
    unsigned long long v = std::strtoull(text.c_str(), nullptr, 10);
    if (errno == ERANGE) bad(flag, text, want + ", below 2^64");
    return v;
}

std::int64_t parseSigned(const std::string& flag, const std::string& text) {
    const std::string want = "a whole number";
    std::string digits = !text.empty() && text[0] == '-' ? text.substr(1) : text;
    if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit))
        bad(flag, text, want);
    errno = 0;
    long long v = std::strtoll(text.c_str(), nullptr, 10);
    if (errno == ERANGE) bad(flag, text, want + " that fits in 64 bits");
    return v;
}

}  // namespace

std::int64_t parseMemorySize(const std::string& flag, const std::string& text) {
    const std::string want =
        "a size in bytes with an optional unit k, m, g, t or p (1024-based, e.g. 512m), or -1 "
        "for unlimited";
    if (text == "-1") return -1;
    std::size_t i = 0;
    auto digitsAt = [&](std::size_t from) {
        std::size_t j = from;
        while (j < text.size() && std::isdigit(static_cast<unsigned char>(text[j]))) ++j;
        return j;
    };
    std::size_t end = digitsAt(0);
    if (end == 0) bad(flag, text, want);
    i = end;
    if (i < text.size() && text[i] == '.') {
        std::size_t frac = digitsAt(i + 1);
        if (frac == i + 1) bad(flag, text, want);
        i = frac;
    }
    std::string number = text.substr(0, i);
    if (i < text.size() && text[i] == ' ') ++i;
    int shift = 0;
    if (i < text.size()) {
        static const std::string units = "kmgtp";
        auto u = units.find(static_cast<char>(std::tolower(static_cast<unsigned char>(text[i]))));
        if (u != std::string::npos) {
            shift = 10 * static_cast<int>(u + 1);
            ++i;
        }
    }
    if (i < text.size() && (text[i] == 'i' || text[i] == 'I')) ++i;
    if (i < text.size() && (text[i] == 'b' || text[i] == 'B')) ++i;
    if (i != text.size()) bad(flag, text, want);
    // Powers of two as integers (exact in long double); ldexp would pull in libm.
    long double v =
        std::strtold(number.c_str(), nullptr) * static_cast<long double>(std::uint64_t{1} << shift);
    if (v >= static_cast<long double>(std::uint64_t{1} << 63))
        bad(flag, text, want + "; at most 2^63-1 bytes");
    return static_cast<std::int64_t>(v);
}

Resources resourcesFromUpdateFlags(Resources r, const std::map<std::string, std::string>& flags,
                                   bool hostHasResctrl) {
    const auto& names = updateFlagNames();
    for (const auto& [name, text] : flags)
        if (std::find(names.begin(), names.end(), name) == names.end())
            throw Error("update: unknown resource flag --" + name);
    if (flags.count("cpu-share") && flags.count("cpu-shares"))
        throw Error("update: --cpu-share and --cpu-shares are the same setting; give one");
    for (const char* rdt : {"l3-cache-schema", "mem-bw-schema"}) {
        if (!flags.count(rdt)) continue;
        if (!hostHasResctrl)
            throw Error(std::string("update --") + rdt +
                        " needs Intel RDT (resctrl), which this host does not have: "
                        "/sys/fs/resctrl is not mounted");
        throw Error(std::string("update --") + rdt +
                    ": caprun does not manage Intel RDT (resctrl) groups (linux.intelRdt), so "
                    "it cannot apply the schema");
    }
    auto has = [&](const char* f) { return flags.count(f) > 0; };
    auto text = [&](const char* f) -> const std::string& { return flags.at(f); };

    if (has("memory") || has("memory-reservation") || has("memory-swap")) {
        if (!r.memory) r.memory = MemoryResources{};
        if (has("memory")) r.memory->limit = parseMemorySize("memory", text("memory"));
        if (has("memory-reservation"))
            r.memory->reservation =
                parseMemorySize("memory-reservation", text("memory-reservation"));
        if (has("memory-swap"))
            r.memory->swap = parseMemorySize("memory-swap", text("memory-swap"));
    }
    // runc: unlimited memory without a swap setting means memory and swap unlimited.
    if (r.memory && r.memory->limit == -1 && !r.memory->swap) r.memory->swap = -1;
    bool cpu = false;
    for (const char* f :
         {"cpu-share", "cpu-shares", "cpu-quota", "cpu-period", "cpu-burst", "cpu-rt-period",
          "cpu-rt-runtime", "cpu-idle", "cpuset-cpus", "cpuset-mems"})
        cpu = cpu || has(f);
    if (cpu) {
        if (!r.cpu) r.cpu = CpuResources{};
        for (const char* f : {"cpu-share", "cpu-shares"})
            if (has(f)) r.cpu->shares = parseUnsigned(f, text(f));
        if (has("cpu-period")) r.cpu->period = parseUnsigned("cpu-period", text("cpu-period"));
        if (has("cpu-quota")) r.cpu->quota = parseSigned("cpu-quota", text("cpu-quota"));
        if (has("cpu-burst")) r.cpu->burst = parseUnsigned("cpu-burst", text("cpu-burst"));
        if (has("cpu-rt-period"))
            r.cpu->realtimePeriod = parseUnsigned("cpu-rt-period", text("cpu-rt-period"));
        if (has("cpu-rt-runtime"))
            r.cpu->realtimeRuntime = parseSigned("cpu-rt-runtime", text("cpu-rt-runtime"));
        if (has("cpu-idle")) r.cpu->idle = parseSigned("cpu-idle", text("cpu-idle"));
        for (const char* f : {"cpuset-cpus", "cpuset-mems"}) {
            if (!has(f)) continue;
            if (text(f).empty()) bad(f, text(f), "a list such as 0-2,4");
            (std::string(f) == "cpuset-cpus" ? r.cpu->cpus : r.cpu->mems) = text(f);
        }
    }
    if (has("pids-limit")) {
        std::int64_t v = parseSigned("pids-limit", text("pids-limit"));
        if (v == 0) bad("pids-limit", text("pids-limit"), "a positive limit, or -1 for unlimited");
        r.pids = PidsResources{v};
    }
    if (has("blkio-weight")) {
        std::uint64_t v = parseUnsigned("blkio-weight", text("blkio-weight"));
        if (v < 10 || v > 1000) bad("blkio-weight", text("blkio-weight"), "10 to 1000");
        if (!r.blockIO) r.blockIO = BlockIoResources{};
        r.blockIO->weight = static_cast<std::uint16_t>(v);
    }
    return r;
}

}  // namespace caprun
