// libsystemd's sd-bus, loaded with dlopen on the first use of the systemd cgroup driver
// rather than linked: libsystemd.so.0 brings six more libraries (libgcrypt, liblzma,
// libzstd, liblz4, libgpg-error, libcap) that every start would map and relocate, though
// only the systemd driver talks to D-Bus (bench/README.md has the figures).
#pragma once

#include <systemd/sd-bus.h>

#include <string>

namespace caprun {

struct SdBusLibrary {
    decltype(&::sd_bus_open_user) open_user;
    decltype(&::sd_bus_open_system) open_system;
    decltype(&::sd_bus_new) bus_new;
    decltype(&::sd_bus_set_address) set_address;
    decltype(&::sd_bus_start) start;
    decltype(&::sd_bus_flush_close_unref) flush_close_unref;
    decltype(&::sd_bus_message_unref) message_unref;
    decltype(&::sd_bus_error_free) error_free;
    decltype(&::sd_bus_slot_unref) slot_unref;
    decltype(&::sd_bus_message_append) message_append;
    decltype(&::sd_bus_message_open_container) message_open_container;
    decltype(&::sd_bus_message_close_container) message_close_container;
    decltype(&::sd_bus_message_append_array) message_append_array;
    decltype(&::sd_bus_message_new_method_call) message_new_method_call;
    decltype(&::sd_bus_message_read) message_read;
    decltype(&::sd_bus_error_has_name) error_has_name;
    decltype(&::sd_bus_call_method) call_method;
    decltype(&::sd_bus_call) call;
    decltype(&::sd_bus_wait) wait;
    decltype(&::sd_bus_process) process;
    decltype(&::sd_bus_match_signal) match_signal;
};

// Loads `soname` (libsystemd.so.0 in use; another name in tests) and resolves every
// function; throws Error saying what is missing (the library or its functions) and what to
// install. `doing` is what the caller was about to do.
SdBusLibrary loadSdBusLibrary(const std::string& soname, const std::string& doing);

// libsystemd.so.0, loaded once; throws Error saying what is missing (the library or one of its
// functions) and what to install. `doing` is what the caller was about to do.
const SdBusLibrary& sdBusLibrary(const std::string& doing);

}  // namespace caprun
