// The idmapped-tree executor's kernel calls, recorded by RecordingRootfsKernel. What
// mount_setattr(2) and open_tree(2) require: the mapping is given by a user namespace fd,
// the tree must be a detached clone (OPEN_TREE_CLONE), "ridmap" maps every mount below it
// (AT_RECURSIVE on mount_setattr) and "rbind" clones them (AT_RECURSIVE on open_tree); the
// namespace fd is no longer needed once the tree has its mapping.
#include <doctest/doctest.h>

#include <cerrno>

#include "caprun/error.hpp"
#include "caprun/idmap.hpp"
#include "caprun/rootfs.hpp"
#include "caprun/spec.hpp"
#include "kernel_doubles.hpp"

using namespace caprun;
using caprun::testing::RecordingRootfsKernel;

namespace {

using Calls = std::vector<std::string>;

// /a with "rbind,idmap" and its own mapping (every mount below cloned, only the top one
// mapped), /b with "rbind,ridmap" and the container's user namespace mapping (all mapped),
// /c a plain bind, /d "bind,idmap".
RootfsPlan threeMounts() {
    const std::string own = R"([{"containerID":0,"hostID":1000,"size":1}])";
    return planRootfs(parseSpec(R"({"ociVersion":"1.2.0","root":{"path":"rootfs"},
        "linux":{"namespaces":[{"type":"user"},{"type":"mount"}],
                 "uidMappings":[{"containerID":0,"hostID":100000,"size":65536}],
                 "gidMappings":[{"containerID":0,"hostID":100000,"size":65536}]},
        "mounts":[
          {"destination":"/a","type":"bind","source":"/srv/a","options":["rbind","idmap"],
           "uidMappings":)" + own +
                                R"(,"gidMappings":)" + own + R"(},
          {"destination":"/b","type":"bind","source":"/srv/b","options":["rbind","ridmap"]},
          {"destination":"/c","type":"bind","source":"/srv/c","options":["rbind"]},
          {"destination":"/d","type":"bind","source":"/srv/d","options":["bind","idmap"]}]})"),
                      "/bundle", false, true, true);
}

}  // namespace

TEST_CASE("idmap executor: one mapped, detached tree per idmap mount, namespace fds closed") {
    RootfsPlan plan = threeMounts();
    RecordingRootfsKernel k;
    openIdmappedTrees(plan, k);
    CHECK(k.calls == Calls{
                         "unshare userns(uid 0:1000:1, gid 0:1000:1)",
                         "open_tree /srv/a OPEN_TREE_CLONE|AT_RECURSIVE",
                         "mount_setattr tree:/srv/a MOUNT_ATTR_IDMAP userns(uid 0:1000:1, gid "
                         "0:1000:1)",
                         "unshare userns(uid 0:100000:65536, gid 0:100000:65536)",
                         "open_tree /srv/b OPEN_TREE_CLONE|AT_RECURSIVE",
                         "mount_setattr tree:/srv/b MOUNT_ATTR_IDMAP userns(uid 0:100000:65536, "
                         "gid 0:100000:65536) AT_RECURSIVE",
                         "unshare userns(uid 0:100000:65536, gid 0:100000:65536)",
                         "open_tree /srv/d OPEN_TREE_CLONE",
                         "mount_setattr tree:/srv/d MOUNT_ATTR_IDMAP userns(uid 0:100000:65536, "
                         "gid 0:100000:65536)",
                     });
    CHECK(plan.mounts[0].idmappedTree >= 0);
    CHECK(plan.mounts[1].idmappedTree >= 0);
    CHECK(plan.mounts[2].idmappedTree == -1);
    CHECK(plan.mounts[3].idmappedTree >= 0);
    // Only the three trees stay open, for the init to attach.
    CHECK(k.openFds() == 3);
    closeIdmappedTrees(plan, k);
    CHECK(k.openFds() == 0);
    CHECK(plan.mounts[0].idmappedTree == -1);
}

TEST_CASE("idmap executor: a filesystem without idmap support is named; nothing stays open") {
    RootfsPlan plan = threeMounts();
    RecordingRootfsKernel k;
    k.failOn("mount_setattr tree:/srv/a", EINVAL);
    CHECK_THROWS_WITH(openIdmappedTrees(plan, k),
                      "idmapped mount of /srv/a on /a (mounts[0]): the filesystem of /srv/a does "
                      "not support idmapped mounts (mount_setattr MOUNT_ATTR_IDMAP: Invalid "
                      "argument)");
    CHECK(k.openFds() == 0);
}

TEST_CASE("idmap executor: a failing open_tree or a later mount's failure names that mount") {
    RootfsPlan plan = threeMounts();
    RecordingRootfsKernel k;
    k.failOn("open_tree /srv/a", ENOENT);
    CHECK_THROWS_WITH(openIdmappedTrees(plan, k),
                      "idmapped mount of /srv/a on /a (mounts[0]): open_tree: No such file or "
                      "directory");
    CHECK(k.openFds() == 0);

    // The second mount fails after the first tree was made: the caller closes what was
    // made (createInternal's closer runs closeIdmappedTrees on the way out).
    RootfsPlan plan2 = threeMounts();
    RecordingRootfsKernel k2;
    k2.failOn("mount_setattr tree:/srv/b", EPERM);
    CHECK_THROWS_WITH(openIdmappedTrees(plan2, k2),
                      "idmapped mount of /srv/b on /b (mounts[1]): mount_setattr "
                      "MOUNT_ATTR_IDMAP: Operation not permitted");
    CHECK(k2.openFds() == 1);
    closeIdmappedTrees(plan2, k2);
    CHECK(k2.openFds() == 0);
}
