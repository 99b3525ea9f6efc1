#include "caprun/sd_bus_library.hpp"

#include <dlfcn.h>

#include <optional>
#include <string>

#include "caprun/error.hpp"

namespace caprun {

namespace {

template <typename F>
void resolve(void* handle, F& fn, const char* name, std::string& missing) {
    fn = reinterpret_cast<F>(::dlsym(handle, name));
    if (fn == nullptr) missing += std::string(missing.empty() ? "" : ", ") + name;
}

}  // namespace

SdBusLibrary loadSdBusLibrary(const std::string& soname, const std::string& doing) {
    SdBusLibrary lib{};
    // RTLD_LOCAL: its dependencies (libcap among them) stay out of the global scope, where
    // caprun's own statically linked copies are.
    void* handle = ::dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr)
        throw Error(doing + ": the systemd cgroup driver needs " + soname +
                    " (Debian: apt-get install libsystemd0): " + ::dlerror());
    std::string missing;
    resolve(handle, lib.open_user, "sd_bus_open_user", missing);
    resolve(handle, lib.open_system, "sd_bus_open_system", missing);
    resolve(handle, lib.bus_new, "sd_bus_new", missing);
    resolve(handle, lib.set_address, "sd_bus_set_address", missing);
    resolve(handle, lib.start, "sd_bus_start", missing);
    resolve(handle, lib.flush_close_unref, "sd_bus_flush_close_unref", missing);
    resolve(handle, lib.message_unref, "sd_bus_message_unref", missing);
    resolve(handle, lib.error_free, "sd_bus_error_free", missing);
    resolve(handle, lib.slot_unref, "sd_bus_slot_unref", missing);
    resolve(handle, lib.message_append, "sd_bus_message_append", missing);
    resolve(handle, lib.message_open_container, "sd_bus_message_open_container", missing);
    resolve(handle, lib.message_close_container, "sd_bus_message_close_container", missing);
    resolve(handle, lib.message_append_array, "sd_bus_message_append_array", missing);
    resolve(handle, lib.message_new_method_call, "sd_bus_message_new_method_call", missing);
    resolve(handle, lib.message_read, "sd_bus_message_read", missing);
    resolve(handle, lib.error_has_name, "sd_bus_error_has_name", missing);
    resolve(handle, lib.call_method, "sd_bus_call_method", missing);
    resolve(handle, lib.call, "sd_bus_call", missing);
    resolve(handle, lib.wait, "sd_bus_wait", missing);
    resolve(handle, lib.process, "sd_bus_process", missing);
    resolve(handle, lib.match_signal, "sd_bus_match_signal", missing);
    if (!missing.empty()) {
        ::dlclose(handle);
        throw Error(doing + ": " + soname + " lacks " + missing +
                    " (caprun needs libsystemd 237 or later)");
    }
    return lib;  // the handle stays open: the functions are used until exit
}

const SdBusLibrary& sdBusLibrary(const std::string& doing) {
    static std::optional<SdBusLibrary> lib;
    if (!lib) lib = loadSdBusLibrary("libsystemd.so.0", doing);
    return *lib;
}

}  // namespace caprun
