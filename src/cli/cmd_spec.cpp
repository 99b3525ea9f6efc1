// caprun spec: write a default config.json (runc's defaults) into a bundle.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "caprun/error.hpp"
#include "caprun/spec.hpp"
#include "commands.hpp"

namespace caprun::cli {

namespace po = boost::program_options;

int cmdSpec(const GlobalOptions& g, const Args& args) {
    auto desc = commandOptions("spec");
    // clang-format off
    desc.add_options()
        ("bundle,b", po::value<std::string>()->default_value("."), "bundle directory to write config.json into")
        ("rootless", "write a spec for a rootless container (user namespace mapping the caller to root)");
    // clang-format on
    auto cl = parseCommandLine("spec", args, desc);
    if (printHelpIfAsked(cl, "spec [--bundle DIR] [--rootless]", desc)) return 0;
    expectPositionals("spec", cl, 0, 0, "");
    bool rootless = cl.vm.count("rootless") > 0 || g.rootless == "true";
    const std::string bundle = cl.vm["bundle"].as<std::string>();
    const std::string path = bundle + "/config.json";
    // O_EXCL: never overwrite a config a person wrote.
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        int err = errno;
        if (err == EEXIST)
            throw Error("spec: " + path + " already exists; remove it first to write a new one");
        if (err == ENOENT) throw Error("spec: bundle directory " + bundle + " does not exist");
        throwSys("spec: creating " + path, err);
    }
    const std::string text = defaultSpecJson(rootless);
    std::size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            ::unlink(path.c_str());
            throwSys("spec: writing " + path, err);
        }
        off += static_cast<std::size_t>(n);
    }
    if (::close(fd) != 0) throwErrno("spec: writing " + path);
    return 0;
}

}  // namespace caprun::cli
