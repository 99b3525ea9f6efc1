#include "caprun/idmap.hpp"

#include <cerrno>
#include <cstring>

#include "caprun/error.hpp"
#include "caprun/rootfs.hpp"
#include "caprun/rootfs_kernel.hpp"

namespace caprun {

namespace {

bool hasUserNamespace(const Spec& spec) {
    if (!spec.linux) return false;
    for (const auto& n : spec.linux->namespaces)
        if (n.type == "user") return true;
    return false;
}

}  // namespace

std::string idmapRefusal(const Spec& spec, const Mount& m, bool newUserNamespace) {
    bool wants = false, bind = m.type == "bind";
    for (const auto& o : m.options) {
        wants |= o == "idmap" || o == "ridmap";
        bind |= o == "bind" || o == "rbind";
    }
    bool mapped = !m.uidMappings.empty() || !m.gidMappings.empty();
    if (!wants) return mapped ? "uidMappings/gidMappings need the idmap or ridmap option" : "";
    if (!bind) return "idmap and ridmap apply to bind mounts only";
    if (mapped && (m.uidMappings.empty() || m.gidMappings.empty()))
        return "an idmapped mount needs both uidMappings and gidMappings (or neither)";
    if (!mapped && !(newUserNamespace && spec.linux && !spec.linux->uidMappings.empty() &&
                     !spec.linux->gidMappings.empty()))
        return "idmap needs the mount's uidMappings and gidMappings, or a new user namespace "
               "with linux.uidMappings/gidMappings to take them from";
    return "";
}

void planIdmap(const Spec& spec, const Mount& m, bool newUserNamespace, PlannedMount& pm) {
    if (std::string why = idmapRefusal(spec, m, newUserNamespace || hasUserNamespace(spec));
        !why.empty())
        throw Error("config.json: " + m.jsonPath + ": " + why);
    if (!pm.options.idmap && !pm.options.ridmap) return;
    pm.uidMappings = m.uidMappings.empty() ? spec.linux->uidMappings : m.uidMappings;
    pm.gidMappings = m.gidMappings.empty() ? spec.linux->gidMappings : m.gidMappings;
}

void openIdmappedTrees(RootfsPlan& plan, RootfsKernel& k) {
    for (auto& m : plan.mounts) {
        if (!m.options.idmap && !m.options.ridmap) continue;
        std::string what =
            "idmapped mount of " + m.source + " on " + m.destination + " (" + m.jsonPath + ")";
        int userns = k.mappingUserNamespace(m.uidMappings, m.gidMappings, what);
        int tree = k.openTreeClone(m.source, m.options.recursive || m.options.ridmap);
        if (tree < 0) {
            k.close(userns);
            throwSys(what + ": open_tree", -tree);
        }
        int err = k.setIdmap(tree, userns, m.options.ridmap);
        k.close(userns);
        if (err != 0) {
            k.close(tree);
            if (err == EINVAL)
                throw Error(what + ": the filesystem of " + m.source +
                            " does not support idmapped mounts (mount_setattr MOUNT_ATTR_IDMAP: " +
                            std::strerror(err) + ")");
            throwSys(what + ": mount_setattr MOUNT_ATTR_IDMAP", err);
        }
        m.idmappedTree = tree;
    }
}

void closeIdmappedTrees(RootfsPlan& plan, RootfsKernel& k) {
    for (auto& m : plan.mounts) {
        if (m.idmappedTree >= 0) k.close(m.idmappedTree);
        m.idmappedTree = -1;
    }
}

}  // namespace caprun
