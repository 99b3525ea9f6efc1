// Seccomp compilation and the container-start plan. See include/caprun/seccomp_compile.hpp.
#include "caprun/seccomp_compile.hpp"
#include "caprun/sys/unique_fd.hpp"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cerrno>

#include "caprun/error.hpp"
#include "caprun/json.hpp"
#include "caprun/seccomp_cache.hpp"
#include "caprun/seccomp_names.hpp"
#include "caprun_config.h"

namespace caprun {

namespace {

struct FilterCtx {
    scmp_filter_ctx ctx;
    explicit FilterCtx(std::uint32_t def) : ctx(seccomp_init(def)) {
        if (!ctx) throw Error("seccomp: libseccomp could not create a filter (seccomp_init)");
    }
    ~FilterCtx() { seccomp_release(ctx); }
    FilterCtx(const FilterCtx&) = delete;
    FilterCtx& operator=(const FilterCtx&) = delete;
};

scmp_arg_cmp toCmp(const SeccompArg& a) {
    scmp_arg_cmp c{};
    c.arg = a.index;
    c.op = static_cast<scmp_compare>(*seccompCompareOp(a.op));
    c.datum_a = a.value;
    c.datum_b = a.valueTwo;
    return c;
}

}  // namespace

CompiledSeccomp compileSeccomp(const ResolvedSeccomp& r) {
    CompiledSeccomp c;
    c.listenerPath = r.listenerPath;
    c.listenerMetadata = r.listenerMetadata;
    c.usesNotify = r.usesNotify;
    if (!r.enabled) return c;
    c.enabled = true;
    c.flagBits = r.flagBits;
    if (r.usesNotify) {
        c.flagBits |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // TSYNC and NEW_LISTENER together are only accepted with TSYNC_ESRCH (kernel 5.7).
        if (c.flagBits & SECCOMP_FILTER_FLAG_TSYNC) c.flagBits |= kSeccompFlagTsyncEsrch;
    }

    FilterCtx f(r.defaultActionValue);
    const std::string label = r.source.label();
    std::uint32_t native = seccomp_arch_native();
    for (const auto& a : r.architectures) {
        const SeccompArch* info = seccompArchByToken(a);
        if (!info || info->value == native) continue;
        int rc = seccomp_arch_add(f.ctx, info->value);
        if (rc < 0 && rc != -EEXIST)
            throwSys("seccomp: adding architecture " + a + " to the filter", -rc);
    }
    // A binary tree of syscall numbers keeps the per-syscall cost low for large profiles.
    seccomp_attr_set(f.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);

    for (const auto& rule : r.rules) {
        if (!rule.included) continue;
        std::vector<scmp_arg_cmp> cmps;
        for (const auto& a : rule.args) cmps.push_back(toCmp(a));
        // libseccomp refuses two comparisons on the same argument in one rule; like runc,
        // such a rule becomes one rule per comparison (any of them matching applies it).
        bool repeated = false;
        for (std::size_t i = 0; i < cmps.size(); ++i)
            for (std::size_t j = i + 1; j < cmps.size(); ++j)
                if (cmps[i].arg == cmps[j].arg) repeated = true;
        for (const auto& name : rule.names) {
            if (std::find(rule.unknownNames.begin(), rule.unknownNames.end(), name) !=
                rule.unknownNames.end())
                continue;
            int nr = seccomp_syscall_resolve_name(name.c_str());
            auto add = [&](unsigned count, const scmp_arg_cmp* arr) {
                int rc = seccomp_rule_add_array(f.ctx, rule.actionValue, nr, count, arr);
                if (rc < 0)
                    throw Error(label + ": " + rule.jsonPath + ": adding the rule for " + name +
                                " to the filter failed: " + errnoText(-rc));
            };
            if (cmps.empty()) {
                add(0, nullptr);
            } else if (!repeated) {
                add(static_cast<unsigned>(cmps.size()), cmps.data());
            } else {
                for (const auto& cmp : cmps) add(1, &cmp);
            }
        }
    }

    UniqueFd mem(memfd_create("caprun-seccomp-bpf", MFD_CLOEXEC));
    if (mem.fd < 0) throwErrno("seccomp: creating a memfd for the compiled filter");
    int rc = seccomp_export_bpf(f.ctx, mem.fd);
    if (rc < 0) throwSys("seccomp: exporting the compiled filter (seccomp_export_bpf)", -rc);
    off_t size = lseek(mem.fd, 0, SEEK_END);
    if (size < 0) throwErrno("seccomp: sizing the compiled filter");
    c.bpf.resize(static_cast<std::size_t>(size));
    std::size_t done = 0;
    while (done < c.bpf.size()) {
        ssize_t n =
            pread(mem.fd, c.bpf.data() + done, c.bpf.size() - done, static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) throwErrno("seccomp: reading back the compiled filter");
        done += static_cast<std::size_t>(n);
    }
    if (c.bpf.empty() || c.bpf.size() % sizeof(sock_filter) != 0 ||
        c.bpf.size() / sizeof(sock_filter) > BPF_MAXINSNS)
        throw Error("seccomp: the compiled filter has " + std::to_string(c.bpf.size()) +
                    " bytes; the kernel accepts 1 to " + std::to_string(BPF_MAXINSNS) +
                    " instructions of " + std::to_string(sizeof(sock_filter)) + " bytes");
    return c;
}

namespace {

// A canonical text of config.json's filter, for the fast cache key (paths included: they
// appear in cached warnings).
std::string configFilterText(const Seccomp& f) {
    std::string t;
    t.reserve(8192);
    auto list = [&](const char* key, const std::vector<std::string>& v) {
        t += key;
        for (const auto& x : v) {
            t += ' ';
            t += json::quote(x);
        }
        t += "\n";
    };
    t += "default " + f.defaultAction + " " +
         (f.defaultErrnoRet ? std::to_string(*f.defaultErrnoRet) : "-") + "\n";
    list("arches", f.architectures);
    list("flags", f.flags);
    t += "listener " + json::quote(f.listenerPath) + " " + json::quote(f.listenerMetadata) + "\n";
    for (const auto& s : f.syscalls) {
        t += "rule " + s.jsonPath + " " + s.action + " " +
             (s.errnoRet ? std::to_string(*s.errnoRet) : "-") + "\n";
        list(" names", s.names);
        for (const auto& a : s.args)
            t += std::string(" arg ") + std::to_string(a.index) + " " + a.op + " " +
                 std::to_string(a.value) + " " + std::to_string(a.valueTwo) + "\n";
        for (const auto* gate : {&s.includes, &s.excludes}) {
            if (!*gate) {
                t += " gate -\n";
                continue;
            }
            list(" gate caps", (*gate)->caps);
            list(" arches", (*gate)->arches);
            t += " minKernel ";
            t += json::quote((*gate)->minKernel);
            t += '\n';
        }
    }
    return t;
}

// The facts a fast-path cache entry carries besides the BPF.
std::string planMeta(const SeccompPlan& p) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    auto str = [&](const std::string& s) {
        w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
    };
    w.StartObject();
    w.Key("flagBits");
    w.Uint(p.compiled.flagBits);
    w.Key("usesNotify");
    w.Bool(p.compiled.usesNotify);
    w.Key("listenerPath");
    str(p.compiled.listenerPath);
    w.Key("listenerMetadata");
    str(p.compiled.listenerMetadata);
    w.Key("ruleCount");
    w.Uint64(p.ruleCount);
    w.Key("includedRuleCount");
    w.Uint64(p.includedRuleCount);
    w.Key("warnings");
    w.StartArray();
    for (const auto& x : p.warnings) str(x);
    w.EndArray();
    w.Key("deniedWithoutCap");
    w.StartObject();
    for (const auto& [cap, names] : p.deniedWithoutCap) {
        w.Key(cap.c_str());
        w.StartArray();
        for (const auto& n : names) str(n);
        w.EndArray();
    }
    w.EndObject();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

// Fills `p` from a cache entry's meta; false when it is not what planMeta writes.
bool applyPlanMeta(const std::string& meta, SeccompPlan& p) {
    rapidjson::Document d;
    if (d.Parse(meta.c_str(), meta.size()).HasParseError() || !d.IsObject()) return false;
    auto has = [&](const char* k, rapidjson::Type t) {
        return d.HasMember(k) && d[k].GetType() == t;
    };
    if (!d.HasMember("flagBits") || !d["flagBits"].IsUint() || !d.HasMember("usesNotify") ||
        !d["usesNotify"].IsBool() || !has("listenerPath", rapidjson::kStringType) ||
        !has("listenerMetadata", rapidjson::kStringType) ||
        !has("warnings", rapidjson::kArrayType) ||
        !has("deniedWithoutCap", rapidjson::kObjectType) || !d.HasMember("ruleCount") ||
        !d["ruleCount"].IsUint64() || !d.HasMember("includedRuleCount") ||
        !d["includedRuleCount"].IsUint64())
        return false;
    p.compiled.flagBits = d["flagBits"].GetUint();
    p.compiled.usesNotify = d["usesNotify"].GetBool();
    p.compiled.listenerPath = d["listenerPath"].GetString();
    p.compiled.listenerMetadata = d["listenerMetadata"].GetString();
    p.ruleCount = d["ruleCount"].GetUint64();
    p.includedRuleCount = d["includedRuleCount"].GetUint64();
    for (const auto& x : d["warnings"].GetArray()) {
        if (!x.IsString()) return false;
        p.warnings.emplace_back(x.GetString());
    }
    for (const auto& m : d["deniedWithoutCap"].GetObject()) {
        if (!m.value.IsArray()) return false;
        auto& list = p.deniedWithoutCap[m.name.GetString()];
        for (const auto& n : m.value.GetArray()) {
            if (!n.IsString()) return false;
            list.emplace_back(n.GetString());
        }
    }
    return true;
}

}  // namespace

SeccompPlan planSeccomp(const Spec& spec, const std::optional<std::string>& profileOption,
                        const SeccompHost& host, const std::string& stateRoot) {
    SeccompDefinition def = chooseSeccompDefinition(spec, profileOption);
    SeccompPlan plan;
    plan.source = def.source;
    if (def.source.kind == SeccompSource::Kind::None) return plan;

    const std::uint32_t native = seccompNativeArch(host.nativeArch);
    SeccompHost h = host;
    h.nativeArch = native;
    h.kernelRelease = seccompKernelRelease(h);

    std::string key;
    std::optional<SeccompCache> cache;
    if (!stateRoot.empty()) {
        const auto* v = seccomp_version();
        std::string material = "caprun-seccomp-plan/1\ncaprun " CAPRUN_VERSION "\nlibseccomp ";
        material += std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
                    std::to_string(v->micro) + "\nkernel " + h.kernelRelease + "\nnative " +
                    std::to_string(native) + "\ngranted " + std::to_string(h.grantedBounding) +
                    "\nstrict " + (h.strictUnknownSyscalls ? "1" : "0") + "\nlabel " +
                    def.source.label() + "\n";
        material += def.configFilter ? configFilterText(*def.configFilter) : def.profileText;
        key = seccompCacheHash(material);
        cache.emplace(seccompCacheDir(stateRoot));
        if (auto entry = cache->load(key); entry && applyPlanMeta(entry->meta, plan)) {
            plan.compiled.enabled = true;
            plan.compiled.bpf = std::move(entry->bpf);
            plan.compiled.fromCache = true;
            plan.compiled.cacheKey = key;
            return plan;
        }
        plan = SeccompPlan{};  // a half-applied bad entry leaves nothing behind
        plan.source = def.source;
    }

    ResolvedSeccomp r = resolveSeccomp(parseSeccompDefinition(def, native), h);
    plan.compiled = compileSeccomp(r);
    plan.warnings = r.warnings;
    plan.deniedWithoutCap = r.deniedWithoutCap;
    plan.ruleCount = r.rules.size();
    plan.includedRuleCount = r.includedRuleCount();
    if (cache) {
        plan.compiled.cacheKey = key;
        cache->store(key, {plan.compiled.bpf, planMeta(plan)});  // best effort
    }
    return plan;
}

}  // namespace caprun
