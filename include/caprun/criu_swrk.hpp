// The executor that talks to CRIU: `criu swrk <fd>` started as a child with one end of a
// SOCK_SEQPACKET socketpair, one protobuf-encoded request (checkpoint_plan.hpp's CriuRequest)
// and its response. This is how runc drives CRIU: the options go per request, the binary is
// the one --criu names, and no libcriu of another CRIU version is involved.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "caprun/checkpoint_plan.hpp"

namespace caprun {

// The descriptors a request refers to, open in caprun and passed on to CRIU by number.
struct CriuFds {
    int imagesDir = -1;
    int workDir = -1;
    std::vector<std::pair<std::string, int>> inherit;  // CRIU key -> fd
};

struct CriuResponse {
    bool success = false;
    int crErrno = 0;
    std::string errmsg;
    pid_t restoredPid = 0;
    std::optional<bool> memTrack;  // FEATURE_CHECK
};

class CriuSwrk {
  public:
    // Starts `criuPath swrk <fd>` (criuPath without '/' is looked up on PATH). `passFds` stay
    // open in CRIU under the same numbers; CRIU's stdio is caprun's (the restored tree's
    // inherited pipes are bound to it). Throws naming the binary when it cannot start.
    CriuSwrk(const std::string& criuPath, const std::vector<int>& passFds);
    ~CriuSwrk();
    CriuSwrk(const CriuSwrk&) = delete;
    CriuSwrk& operator=(const CriuSwrk&) = delete;

    pid_t pid() const { return pid_; }
    // Sends the request and reads the response (an Error when CRIU died or answered garbage:
    // "criu swrk (<path>) exited with status N").
    CriuResponse send(const CriuRequest& r, const CriuFds& fds);
    // Asks whether CRIU and the kernel can track memory changes (pre-dump).
    CriuResponse featureCheckMemTrack();
    // Waits for CRIU to exit; its exit code.
    int wait();

  private:
    CriuResponse exchange(const std::string& bytes, const char* what);
    std::string path_;
    pid_t pid_ = -1;
    int sock_ = -1;
};

}  // namespace caprun
