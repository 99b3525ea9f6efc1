// Compile versus cached-plan time of the built-in default seccomp profile.
//
//   seccomp-bench [--iterations N] [--state-root DIR]
//
// Prints the median and 90th percentile of each stage over N iterations:
//   select+resolve  parse the embedded profile and evaluate its gates (what `check` pays)
//   compile         libseccomp: build the filter and export BPF (no cache)
//   plan uncached   planSeccomp() without a state root: select, resolve and compile
//   plan cached     planSeccomp() with a warm cache: what a container start pays (the key
//                   is the profile bytes plus the host inputs; no parsing, no resolving)
//   install         seccomp(2) of the cached BPF, in a forked child with no_new_privs
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "caprun/error.hpp"
#include "caprun/seccomp_compile.hpp"
#include "caprun/seccomp_install.hpp"
#include "caprun/seccomp_profile.hpp"
#include "caprun/seccomp_resolve.hpp"

using namespace caprun;
using Clock = std::chrono::steady_clock;

namespace {

struct Stats {
    double median, p90;
};

Stats measure(int iterations, const std::function<void()>& f) {
    std::vector<double> us;
    us.reserve(static_cast<std::size_t>(iterations));
    f();  // warm-up
    for (int i = 0; i < iterations; ++i) {
        auto t0 = Clock::now();
        f();
        us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
    std::sort(us.begin(), us.end());
    return {us[us.size() / 2], us[us.size() * 9 / 10]};
}

void print(const char* name, Stats s) {
    std::printf("%-16s median %9.1f us   p90 %9.1f us\n", name, s.median, s.p90);
}

}  // namespace

int main(int argc, char** argv) {
    int iterations = 100;
    std::string stateRoot;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--iterations" && i + 1 < argc) {
            iterations = std::max(1, std::atoi(argv[++i]));
        } else if (a == "--state-root" && i + 1 < argc) {
            stateRoot = argv[++i];
        } else {
            std::fprintf(stderr, "usage: %s [--iterations N] [--state-root DIR]\n", argv[0]);
            return 2;
        }
    }
    bool ownRoot = stateRoot.empty();
    if (ownRoot) {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "caprun-bench-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) {
            std::perror("mkdtemp");
            return 1;
        }
        stateRoot = tmpl;
    }

    try {
        Spec spec;
        SeccompHost host;  // nothing granted: the profile's gated rules are all evaluated
        auto resolve = [&] {
            return resolveSeccomp(selectSeccomp(spec, std::string("default")), host);
        };
        ResolvedSeccomp r = resolve();
        CompiledSeccomp compiled = compileSeccomp(r);
        std::printf(
            "built-in default profile: %zu rules, %zu in the filter, %zu BPF instructions\n",
            r.rules.size(), r.includedRuleCount(), compiled.bpf.size() / 8);

        Stats resolveStats = measure(iterations, [&] { (void)resolve(); });
        Stats compileStats = measure(iterations, [&] { (void)compileSeccomp(r); });
        Stats uncachedStats = measure(iterations, [&] {
            if (planSeccomp(spec, std::string("default"), host, "").compiled.fromCache)
                throw Error("a plan without a state root came from a cache");
        });
        (void)planSeccomp(spec, std::string("default"), host, stateRoot);  // fill the cache
        Stats planStats = measure(iterations, [&] {
            if (!planSeccomp(spec, std::string("default"), host, stateRoot).compiled.fromCache)
                throw Error("plan cache miss on a warm cache");
        });

        // Install cost: one child per sample, timing only the seccomp(2) call inside it.
        std::vector<double> installs;
        for (int i = 0; i < std::min(iterations, 50); ++i) {
            int p[2];
            if (pipe2(p, O_CLOEXEC) != 0) throw Error("pipe2 failed");
            pid_t pid = fork();
            if (pid == 0) {
                prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                auto t0 = Clock::now();
                installSeccomp(compiled);
                double us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
                _exit(write(p[1], &us, sizeof(us)) == sizeof(us) ? 0 : 1);
            }
            close(p[1]);
            double us = 0;
            if (read(p[0], &us, sizeof(us)) == sizeof(us)) installs.push_back(us);
            close(p[0]);
            waitpid(pid, nullptr, 0);
        }
        std::sort(installs.begin(), installs.end());

        print("select+resolve", resolveStats);
        print("compile", compileStats);
        print("plan uncached", uncachedStats);
        print("plan cached", planStats);
        if (!installs.empty())
            print("install", {installs[installs.size() / 2], installs[installs.size() * 9 / 10]});
        std::printf("compile / plan cached: %.1fx\n", compileStats.median / planStats.median);
        std::printf("plan uncached / plan cached: %.1fx\n",
                    uncachedStats.median / planStats.median);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "seccomp-bench: %s\n", e.what());
        return 1;
    }
    if (ownRoot) std::filesystem::remove_all(stateRoot);
    return 0;
}
