// Seccomp filter sources and profile parsing. See include/caprun/seccomp_profile.hpp.
#include "caprun/seccomp_profile.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "caprun/error.hpp"
#include "caprun/json.hpp"
#include "caprun/seccomp_names.hpp"
#include "profiles/caprun_default_seccomp_profile.h"

namespace caprun {

std::string SeccompSource::describe() const {
    switch (kind) {
        case Kind::None:
            return via.empty() ? "none (no linux.seccomp in config.json)"
                               : "none (unconfined, from " + via + ")";
        case Kind::ConfigJson:
            return "config.json linux.seccomp";
        case Kind::ProfileFile:
            return "profile " + path + " (from " + via + ")";
        case Kind::BuiltinDefault:
            return "built-in default profile (from " + via + ")";
    }
    return "";
}

std::string SeccompSource::label() const {
    switch (kind) {
        case Kind::ConfigJson:
            return "config.json";
        case Kind::ProfileFile:
            return path;
        case Kind::BuiltinDefault:
            return "built-in default seccomp profile";
        case Kind::None:
            break;
    }
    return "seccomp";
}

std::string_view builtinDefaultProfileJson() {
    return std::string_view(kCaprunDefaultSeccompProfile, sizeof(kCaprunDefaultSeccompProfile));
}

Seccomp parseSeccompProfile(std::string_view text, const std::string& label,
                            std::uint32_t nativeArch) {
    json::Document doc = json::parse(text, label);
    json::Node top = json::Node::root(doc);
    if (!top.isObject())
        throw Error(label + ": expected a JSON object at the top level, got " +
                    json::typeName(top.raw()));
    Seccomp s = parseSeccomp(top);
    // dockerd's archMap: the entry for the native architecture names it and the
    // architectures the kernel can also run natively (x86 and x32 on x86_64).
    if (auto archMap = top.get("archMap"); archMap && s.architectures.empty()) {
        std::uint32_t native = seccompNativeArch(nativeArch);
        for (const auto& entry : archMap->items()) {
            std::string arch = entry.require("architecture").asString();
            if (!seccompArchByToken(arch))
                entry.require("architecture").fail("unknown architecture \"" + arch + "\"");
            std::vector<std::string> subs;
            if (auto sub = entry.get("subArchitectures")) subs = sub->asStringArray();
            if (seccompArchByToken(arch)->value != native) continue;
            s.architectures.push_back(arch);
            for (const auto& a : subs) s.architectures.push_back(a);
        }
    }
    return s;
}

namespace {

std::string readProfileFile(const std::string& path, const std::string& via) {
    constexpr std::size_t kMaxProfileBytes = 4 * 1024 * 1024;
    auto fail = [&](const std::string& why) {
        throw Error("loading the seccomp profile from " + via + ": " + path + ": " + why);
    };
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) fail(errnoText(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        fail("not a regular file");
    }
    if (static_cast<std::size_t>(st.st_size) > kMaxProfileBytes) {
        close(fd);
        fail("larger than 4 MiB");
    }
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t done = 0;
    while (done < text.size()) {
        ssize_t n = read(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            fail(errnoText(err));
        }
        if (n == 0) break;
        done += static_cast<std::size_t>(n);
    }
    close(fd);
    text.resize(done);
    return text;
}

}  // namespace

SeccompDefinition chooseSeccompDefinition(const Spec& spec,
                                          const std::optional<std::string>& profileOption) {
    SeccompDefinition d;
    std::optional<std::string> value;
    if (profileOption) {
        value = profileOption;
        d.source.via = "--seccomp-profile";
    } else if (auto it = spec.annotations.find(kSeccompProfileAnnotation);
               it != spec.annotations.end()) {
        value = it->second;
        d.source.via = std::string("annotation ") + kSeccompProfileAnnotation;
    }
    if (value) {
        if (value->empty())
            throw Error(d.source.via +
                        ": empty value; give a profile path, \"default\" or \"unconfined\"");
        if (*value == "default") {
            d.source.kind = SeccompSource::Kind::BuiltinDefault;
            d.profileText = std::string(builtinDefaultProfileJson());
        } else if (*value == "unconfined") {
            d.source.kind = SeccompSource::Kind::None;
        } else {
            d.source.kind = SeccompSource::Kind::ProfileFile;
            d.source.path = *value;
            d.profileText = readProfileFile(*value, d.source.via);
        }
        return d;
    }
    if (spec.linux && spec.linux->seccomp) {
        d.source.kind = SeccompSource::Kind::ConfigJson;
        d.source.via = "config.json linux.seccomp";
        d.jsonPrefix = "linux.seccomp.";
        d.configFilter = &*spec.linux->seccomp;
    }
    return d;
}

SelectedSeccomp parseSeccompDefinition(const SeccompDefinition& d, std::uint32_t nativeArch) {
    SelectedSeccomp sel;
    sel.source = d.source;
    sel.jsonPrefix = d.jsonPrefix;
    if (d.configFilter)
        sel.filter = *d.configFilter;
    else if (d.source.kind != SeccompSource::Kind::None)
        sel.filter = parseSeccompProfile(d.profileText, d.source.label(), nativeArch);
    return sel;
}

SelectedSeccomp selectSeccomp(const Spec& spec, const std::optional<std::string>& profileOption,
                              std::uint32_t nativeArch) {
    return parseSeccompDefinition(chooseSeccompDefinition(spec, profileOption), nativeArch);
}

}  // namespace caprun
