// The real kernel behind the process executor (process_executor.hpp), and the helpers it
// is made of: what a freshly cloned process does, call by call, before it execve()s the
// user's program.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "caprun/cap_executor.hpp"
#include "caprun/process_executor.hpp"

namespace caprun {

// The system calls. awaitStart does nothing and a NOTIFY listener is closed (exec has no
// agent to give it to: the filter still applies); the container's init overrides both.
class LinuxProcessKernel : public ProcessKernel {
  public:
    void dropBounding(int cap) override { caps_.dropBounding(cap); }
    void setKeepCaps(bool on) override { caps_.setKeepCaps(on); }
    void setGroups(const std::vector<gid_t>& groups) override { caps_.setGroups(groups); }
    void setGid(gid_t gid) override { caps_.setGid(gid); }
    void setUid(uid_t uid) override { caps_.setUid(uid); }
    void setCaps(CapMask e, CapMask p, CapMask i) override { caps_.setCaps(e, p, i); }
    void clearAmbient() override { caps_.clearAmbient(); }
    void raiseAmbient(int cap) override { caps_.raiseAmbient(cap); }
    void setNoNewPrivileges() override { caps_.setNoNewPrivileges(); }

    void joinSessionKeyring(const std::string& name, bool userNamespace, bool grantSearch) override;
    void setHostname(const std::string& name) override;
    void setDomainname(const std::string& name) override;
    void useTerminal(int slave) override;
    void setOomScoreAdj(int value) override;
    void setRlimit(const PlannedRlimit& limit) override;
    std::string readPasswd() override;
    void createCwd(const std::string& cwd) override;
    void setUmask(mode_t mask) override;
    void applyEarlyAttrs(const ProcessAttrPlan& attrs) override;
    int installSeccomp(const CompiledSeccomp& filter) override;
    void handOffSeccompListener(int fd) override;
    void changeDir(const std::string& cwd) override;
    std::string findExecutable(const std::vector<std::string>& args,
                               const std::vector<std::string>& env) override;
    void awaitStart() override {}
    void closeFdsAbove(unsigned preserveFds) override;
    void applyOnExecAttrs(const ProcessAttrPlan& attrs) override;
    void exec(const std::string& path, const std::vector<std::string>& args,
              const std::vector<std::string>& env) override;

  private:
    LinuxCapabilityKernel caps_;
};

// Resolves args[0] the way execvp would, with PATH from `env` (default PATH when unset),
// relative to the current root. Throws Error "executable file `x` not found in $PATH" /
// "<path>: <errno text>".
std::string findExecutable(const std::vector<std::string>& args,
                           const std::vector<std::string>& env);

// The home directory of `uid` in passwd(5) text: the sixth field of its first entry; "/"
// when there is no entry (or its home is empty), as runc does.
std::string homeFromPasswd(std::string_view passwd, std::uint32_t uid);

// close_range(first, ~0, CLOSE_RANGE_CLOEXEC) with a /proc/self/fd fallback.
void markFdsCloseOnExec(int first);

}  // namespace caprun
