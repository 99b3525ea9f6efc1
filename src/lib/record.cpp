// What `caprun record` needs before it starts, and the directory it writes at the end.
// See include/caprun/record.hpp.
#include "caprun/record.hpp"

#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <string_view>

#include "caprun/error.hpp"
#include "caprun/sys/atomic_write.hpp"

namespace caprun {

std::string recordPrerequisitesMissing(bool built, bool btf, CapMask effective) {
    if (!built)
        return "this caprun was built without eBPF tracing (meson found no libbpf, clang or "
               "bpftool, or the build host had no /sys/kernel/btf/vmlinux); rebuild with "
               "libbpf-dev, clang and bpftool installed";
    std::string missing;
    if (!btf)
        missing =
            "this kernel exposes no BTF (/sys/kernel/btf/vmlinux is missing: "
            "CONFIG_DEBUG_INFO_BTF is off), which the CO-RE program needs";
    const int capBpf = 39, capPerfmon = 38, capSysAdmin = 21;
    if (!(effective & capBit(capSysAdmin))) {
        std::vector<std::string> lack;
        if (!(effective & capBit(capBpf))) lack.push_back("CAP_BPF");
        if (!(effective & capBit(capPerfmon))) lack.push_back("CAP_PERFMON");
        if (!lack.empty()) {
            if (!missing.empty()) missing += "; ";
            missing +=
                "loading the tracing program needs CAP_BPF and CAP_PERFMON (or "
                "CAP_SYS_ADMIN), and this process lacks ";
            for (std::size_t i = 0; i < lack.size(); ++i) missing += (i ? " and " : "") + lack[i];
        }
    }
    return missing;
}

std::string recordPrerequisitesMissingHere() {
    struct stat st {};
    const bool btf = ::stat("/sys/kernel/btf/vmlinux", &st) == 0;
    CapMask eff = 0;
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("CapEff:", 0) == 0) {
            auto m = parseCapMaskHex(line.substr(line.find_first_not_of(" \t", 7)));
            if (m) eff = *m;
        }
    return recordPrerequisitesMissing(recordBuiltWithTracer(), btf, eff);
}

std::vector<AddressRange> noauditCheckRanges(const std::string& kallsyms) {
    // Every text symbol's address, sorted: a function ends where the next one starts. The
    // file has ~100k lines: parsed in place, without a string per line.
    std::vector<std::uint64_t> starts;
    starts.reserve(kallsyms.size() / 40);
    std::vector<std::pair<std::uint64_t, std::string>> wanted;
    bool anyAddress = false;
    const std::string_view all(kallsyms);
    std::size_t pos = 0;
    while (pos < all.size()) {
        std::size_t eol = all.find('\n', pos);
        if (eol == std::string_view::npos) eol = all.size();
        const std::string_view line = all.substr(pos, eol - pos);
        pos = eol + 1;
        // "ffffffff81000000 T name\t[module]"
        if (line.size() < 20 || line[16] != ' ' || line[18] != ' ') continue;
        const char type = line[17];
        if (type != 't' && type != 'T') continue;
        std::uint64_t addr = 0;
        bool hex = true;
        for (std::size_t i = 0; i < 16 && hex; ++i) {
            const char c = line[i];
            addr <<= 4;
            if (c >= '0' && c <= '9')
                addr |= static_cast<std::uint64_t>(c - '0');
            else if (c >= 'a' && c <= 'f')
                addr |= static_cast<std::uint64_t>(c - 'a' + 10);
            else
                hex = false;
        }
        if (!hex) continue;
        if (addr) anyAddress = true;
        starts.push_back(addr);
        std::string_view name = line.substr(19);
        if (auto tab = name.find('\t'); tab != std::string_view::npos) name = name.substr(0, tab);
        if (name.size() > 5 && name.substr(name.size() - 5) == ".cold") name.remove_suffix(5);
        for (const char* f : kNoauditCheckFunctions)
            if (name == f) wanted.push_back({addr, f});
    }
    if (!anyAddress)
        throw Error(
            "record: /proc/kallsyms shows no addresses (kptr_restrict), so the kernel's no-audit "
            "capability checks cannot be told apart");
    std::sort(starts.begin(), starts.end());
    std::vector<AddressRange> out;
    for (const char* f : kNoauditCheckFunctions)
        if (std::none_of(wanted.begin(), wanted.end(),
                         [&](const auto& w) { return w.second == f; }))
            throw Error(std::string("record: the kernel has no function ") + f +
                        " in /proc/kallsyms, so its no-audit capability checks cannot be told "
                        "apart");
    for (const auto& [addr, name] : wanted) {
        auto next = std::upper_bound(starts.begin(), starts.end(), addr);
        out.push_back({addr, next == starts.end() ? addr + 4096 : *next});
    }
    return out;
}

void checkRecordOutput(const std::string& dir) {
    const std::string what = "record --output " + dir;
    if (dir.empty() || dir[0] != '/') throw Error(what + ": not an absolute path");
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
        if (!S_ISDIR(st.st_mode)) throw Error(what + ": exists and is not a directory");
        if (::access(dir.c_str(), W_OK) != 0) throwErrno(what + ": cannot write there");
        return;
    }
    if (errno != ENOENT) throwErrno(what);
    std::string parent = dir.substr(0, dir.find_last_of('/'));
    if (parent.empty()) parent = "/";
    if (::stat(parent.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw Error(what + ": its parent directory " + parent + " does not exist");
    if (::access(parent.c_str(), W_OK) != 0) throwErrno(what + ": cannot create it in " + parent);
}

std::optional<std::string> recordAnnotationDir(
    const std::map<std::string, std::string>& annotations) {
    auto it = annotations.find(kRecordAnnotation);
    if (it == annotations.end()) return std::nullopt;
    const std::string where = std::string("config.json: annotations[\"") + kRecordAnnotation +
                              "\"]: \"" + it->second + "\"";
    if (it->second.empty() || it->second[0] != '/') throw Error(where + " is not an absolute path");
    try {
        checkRecordOutput(it->second);
    } catch (const Error& e) {
        std::string why = e.what();
        const std::string prefix = "record --output " + it->second + ": ";
        if (why.rfind(prefix, 0) == 0) why.erase(0, prefix.size());
        throw Error(where + ": " + why);
    }
    if (std::string missing = recordPrerequisitesMissingHere(); !missing.empty())
        throw Error(where + ": cannot record here: " + missing);
    return it->second;
}

void writeRecordOutput(const std::string& dir, const Recording& r) {
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
        throwErrno("record: creating the output directory " + dir);
    const RecordPlan p = planRecording(r, seccomp_arch_native());
    const std::string base = dir.substr(dir.find_last_of('/') + 1);
    auto put = [&](const char* name, const std::string& text) {
        sys::writeFileAtomically(dir + "/" + name, text, 0644,
                                 std::string("record: writing ") + name);
    };
    put("recording.json", recordingJson(r));
    put("capabilities.json", recordedCapabilitiesJson(p));
    put("seccomp.json", recordedSeccompJson(p));
    put("securityContext.yaml",
        recordedSecurityContextYaml(p, (base.empty() ? "caprun" : base) + "/seccomp.json"));
    put("run-flags.txt", recordedRunFlags(p, dir + "/seccomp.json"));
    put("report.txt", recordedReportText(p));
}

}  // namespace caprun
