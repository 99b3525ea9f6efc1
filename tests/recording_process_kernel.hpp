// A double of the process executor's kernel (and so of the capability executor's): records
// each call as a line of text and can be told to fail the calls starting with a prefix.
#pragma once

#include <string>
#include <vector>

#include "caprun/capabilities.hpp"
#include "caprun/error.hpp"
#include "caprun/process_executor.hpp"

namespace caprun::testing {

class RecordingProcessKernel : public ProcessKernel {
  public:
    std::vector<std::string> calls;
    std::string failAt;   // a call prefix that throws, like the kernel refusing it
    std::string passwd;   // what readPasswd returns
    int listenerFd = -1;  // what installSeccomp returns
    void record(const std::string& c) {
        calls.push_back(c);
        if (!failAt.empty() && c.rfind(failAt, 0) == 0)
            throw Error(c + ": Operation not permitted");
    }
    void dropBounding(int cap) override { record("drop-bounding " + capabilityName(cap)); }
    void setKeepCaps(bool on) override { record(on ? "keep-caps on" : "keep-caps off"); }
    void setGroups(const std::vector<gid_t>& g) override {
        std::string s = "setgroups";
        for (auto x : g) s += " " + std::to_string(x);
        record(s);
    }
    void setGid(gid_t gid) override { record("setresgid " + std::to_string(gid)); }
    void setUid(uid_t uid) override { record("setresuid " + std::to_string(uid)); }
    void setCaps(CapMask e, CapMask p, CapMask i) override {
        record("capset e=" + capMaskHex(e) + " p=" + capMaskHex(p) + " i=" + capMaskHex(i));
    }
    void clearAmbient() override { record("ambient clear"); }
    void raiseAmbient(int cap) override { record("ambient raise " + capabilityName(cap)); }
    void setNoNewPrivileges() override { record("no_new_privs"); }

    void joinSessionKeyring(const std::string& name, bool userNs, bool grantSearch) override {
        record("keyring " + name + (userNs ? " userns" : "") +
               (grantSearch ? " grant-search" : ""));
    }
    void setHostname(const std::string& n) override { record("sethostname " + n); }
    void setDomainname(const std::string& n) override { record("setdomainname " + n); }
    void useTerminal(int slave) override { record("terminal " + std::to_string(slave)); }
    void setOomScoreAdj(int v) override { record("oom_score_adj " + std::to_string(v)); }
    void setRlimit(const PlannedRlimit& r) override {
        record("setrlimit " + r.type + " " + std::to_string(r.soft) + " " + std::to_string(r.hard));
    }
    std::string readPasswd() override {
        record("read /etc/passwd");
        return passwd;
    }
    void createCwd(const std::string& cwd) override { record("mkdir-in-root " + cwd); }
    void setUmask(mode_t m) override { record("umask " + std::to_string(m)); }
    void applyEarlyAttrs(const ProcessAttrPlan&) override { record("early attrs"); }
    int installSeccomp(const CompiledSeccomp& f) override {
        record(std::string("seccomp") + (f.usesNotify ? " notify" : ""));
        return listenerFd;
    }
    void handOffSeccompListener(int fd) override {
        record("hand off listener " + std::to_string(fd));
    }
    void changeDir(const std::string& cwd) override { record("chdir " + cwd); }
    std::string findExecutable(const std::vector<std::string>& args,
                               const std::vector<std::string>&) override {
        record("find " + args.at(0));
        return "/resolved" + args.at(0);
    }
    void awaitStart() override { record("await start"); }
    void closeFdsAbove(unsigned n) override { record("cloexec above " + std::to_string(2 + n)); }
    void applyOnExecAttrs(const ProcessAttrPlan&) override { record("on-exec attrs"); }
    void exec(const std::string& path, const std::vector<std::string>&,
              const std::vector<std::string>& env) override {
        std::string s = "execve " + path;
        for (const auto& e : env) s += " " + e;
        record(s);
    }
};

}  // namespace caprun::testing
