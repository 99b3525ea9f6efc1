// Tracing a container's EPERM/EACCES failures for `caprun trace` and `run --trace-eperm`:
// building the report from the container's state and the background poller of run.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "caprun/error.hpp"
#include "caprun/log.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/state.hpp"
#include "caprun/trace.hpp"

namespace caprun {

EpermReport reportForContainer(const RuntimeContext& g, const ContainerState& st) {
    Spec spec = loadBundleSpec(st.bundle);
    CapabilityPlan plan =
        planForContainer(spec, capPolicyFor(g.capPolicy, st), st.rootfs, HostFacts::probe());
    // The policy create resolved is passed on as an option: say where it really came from.
    if (!g.capPolicy && !st.capPolicy.empty())
        plan.policy.source = "container " + st.id + "'s create";
    SelectedSeccomp sel = selectSeccomp(spec, st.seccompProfile);
    return EpermReport(std::move(spec), std::move(plan), std::move(sel));
}

std::string staticFallback(const Spec& spec, const CapabilityPlan& plan,
                           const SelectedSeccomp& seccomp) {
    const ResolvedSeccomp r = resolveSeccomp(seccomp, seccompHostFor(plan));
    std::vector<std::string> names;
    for (const auto& [cap, list] : r.deniedWithoutCap)
        for (const auto& n : list)
            if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
    std::string t = "what the plan alone says (caprun explain):";
    if (names.empty()) return t + " no syscall is kept denied for want of a capability";
    std::vector<std::string> known;
    for (const auto& n : names) {
        try {
            validateSyscallNames({n});
            known.push_back(n);
        } catch (const Error&) {
        }
    }
    for (const auto& e : explainSyscalls(spec, plan, seccomp, known)) {
        t += "\n  " + e.syscall + ": " + e.outcome;
        for (const auto& f : e.fixes)
            if (f.lines.size() > 1) t += "; fix: " + f.lines[1];  // the docker line
    }
    return t;
}

bool traceEpermAnnotated(const std::map<std::string, std::string>& annotations) {
    auto it = annotations.find(kTraceEpermAnnotation);
    if (it == annotations.end()) return false;
    if (it->second == "true") return true;
    if (it->second == "false") return false;
    throw Error(std::string("config.json: annotations[\"") + kTraceEpermAnnotation + "\"]: \"" +
                it->second + "\" is not true or false");
}

struct EpermRunTrace::Impl {
    std::optional<EpermReport> report;
    std::unique_ptr<EpermTracer> tracer;
    std::mutex mu;
    std::atomic<bool> stop{false};
    std::thread poller;
    bool logToFile = false;
};

std::unique_ptr<EpermRunTrace> EpermRunTrace::start(const RuntimeContext& g,
                                                    const ContainerState& st) {
    auto t = std::unique_ptr<EpermRunTrace>(new EpermRunTrace);
    t->impl_ = std::make_unique<Impl>();
    Impl& im = *t->impl_;
    im.logToFile = !g.logFile.empty();
    auto say = [&](const std::string& msg) {
        std::cerr << "caprun: " << msg << "\n";
        if (im.logToFile) log::warn(msg);
    };
    try {
        im.report.emplace(reportForContainer(g, st));
    } catch (const std::exception& e) {
        say(std::string("trace-eperm: cannot plan the report: ") + e.what());
        return t;
    }
    auto cg = st.cgroupPaths.find("unified");
    try {
        im.tracer = std::make_unique<EpermTracer>(cg == st.cgroupPaths.end() ? "" : cg->second);
    } catch (const std::exception& e) {
        Spec spec = loadBundleSpec(st.bundle);
        CapabilityPlan plan =
            planForContainer(spec, capPolicyFor(g.capPolicy, st), st.rootfs, HostFacts::probe());
        say(std::string(e.what()) + "; falling back to the static explanation. " +
            staticFallback(spec, plan, selectSeccomp(spec, st.seccompProfile)));
        return t;
    }
    im.poller = std::thread([&im] {
        const std::function<void(const TraceEvent&)> add = [&im](const TraceEvent& e) {
            std::lock_guard<std::mutex> l(im.mu);
            im.report->add(e);
        };
        while (!im.stop.load()) {
            try {
                im.tracer->poll(-1, add);  // finish() wakes it
            } catch (const std::exception&) {
                return;
            }
        }
    });
    return t;
}

EpermRunTrace::~EpermRunTrace() {
    if (impl_ && impl_->poller.joinable()) {
        impl_->stop = true;
        impl_->tracer->wake();
        impl_->poller.join();
    }
}

void EpermRunTrace::finish() {
    Impl& im = *impl_;
    if (!im.tracer) return;
    im.stop = true;
    im.tracer->wake();
    if (im.poller.joinable()) im.poller.join();
    const std::function<void(const TraceEvent&)> add = [&im](const TraceEvent& e) {
        im.report->add(e);
    };
    try {
        while (im.tracer->poll(0, add) > 0) {
        }
    } catch (const std::exception&) {
    }
    const std::string s = im.report->summaryText();
    std::cerr << "caprun: " << s << "\n";
    if (im.logToFile) log::warn(s);
    im.tracer.reset();
}

}  // namespace caprun
