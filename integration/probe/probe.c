/* caprun's probe: a static program copied into test rootfs images. It reports what the
 * process really holds (capability masks, no_new_privs, ids, rlimits, open fds) and what
 * the kernel lets it do (named privileged syscalls, each in a harmless form), as JSON on
 * one line so tests can compare it with `caprun check --format json`.
 *
 *   probe                      caps + syscalls (default list)
 *   probe caps                 {"CapInh":"...","CapPrm":...,"NoNewPrivs":0,"uid":0,...}
 *   probe syscalls [NAME...]   {"sethostname":"OK","chroot":"EPERM",...}
 *   probe rlimit nofile        "<soft> <hard>" (also nproc, core, memlock, stack, ...)
 *   probe fds                  {"0":"/dev/null",...} the fds open in this process
 *   probe keyring              its session keyring as KEYCTL_DESCRIBE gives it
 *                              ("keyring;0;0;3f090000;_ses.ID"), or the errno name
 *   probe list                 the syscall names it knows
 *   probe aware CMD...         raises its effective capabilities to its permitted ones
 *                              (capset, as a capability-aware program with file capabilities
 *                              +p does), then runs CMD...
 *   probe subreaper CMD [ARG...]  (on the host) becomes a child subreaper, runs CMD, waits
 *                              for it, then prints the pids of processes it adopted (their
 *                              parent died), one per line: a runtime that leaves the container
 *                              process as a direct child shows it here, no intermediate
 *   probe exe-watch FILE       (in a container, CVE-2019-5736) until FILE exists: scans /proc
 *                              for processes whose /proc/<pid>/exe is not one of this rootfs's
 *                              files, tries to open it; whatever opened is held until its
 *                              process is gone, then reopened for writing through
 *                              /proc/self/fd. Prints {"guarded":N,"opened":N,"written":N}:
 *                              guarded are the exe links the kernel refused (EACCES/EPERM)
 *
 * Each syscall result is "OK", or the errno name ("EPERM", "EINVAL", ...). Where the
 * harmless form fails with another errno after the permission check, that errno shows
 * that the permission was granted (e.g. delete_module of a missing module: ENOENT; ENOSYS
 * on a kernel built without modules, where it tells nothing), mount: ENODEV.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static int try_sethostname(void) {
    char name[256] = {0};
    if (gethostname(name, sizeof name - 1) < 0) return -1;
    return sethostname(name, strlen(name)); /* same name: no change */
}

static int try_setdomainname(void) {
    char name[256] = {0};
    if (getdomainname(name, sizeof name - 1) < 0) return -1;
    return setdomainname(name, strlen(name));
}

static int try_chroot(void) {
    return chroot("/"); /* same root: no change */
}

static int try_mount(void) {
    /* A filesystem type that does not exist: the kernel checks CAP_SYS_ADMIN first (EPERM),
     * then fails the lookup of the type (ENODEV). Nothing is mounted. */
    return mount("none", "/", "caprun_probe_no_such_fs", 0, NULL);
}

static int try_get_mempolicy(void) {
    int mode = 0;
    return (int)syscall(SYS_get_mempolicy, &mode, NULL, 0UL, NULL, 0UL);
}

static int try_delete_module(void) {
    /* Missing module: EPERM without CAP_SYS_MODULE, ENOENT with it. */
    return (int)syscall(SYS_delete_module, "caprun_probe_no_such_module", O_NONBLOCK);
}

static int try_settimeofday(void) {
    /* Both NULL: the kernel checks CAP_SYS_TIME and then changes nothing. */
    return (int)syscall(SYS_settimeofday, NULL, NULL);
}

static int try_reboot(void) {
    /* Bad magic: EPERM without CAP_SYS_BOOT, EINVAL with it; never reboots. */
    return (int)syscall(SYS_reboot, 0, 0, 0, NULL);
}

static int try_raw_socket(void) {
    int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

static int try_bind_port_80(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(80);
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    int r = bind(fd, (struct sockaddr*)&a, sizeof a);
    int err = errno;
    close(fd);
    errno = err;
    return r;
}

static int try_rcvbufforce(void) {
    /* SO_RCVBUFFORCE on the probe's own new socket: EPERM without CAP_NET_ADMIN (the check
     * iptables' setsockopt calls make too); with it, only this socket's buffer changes. */
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int size = 65536;
    int r = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    int err = errno;
    close(fd);
    errno = err;
    return r;
}

static int try_raise_nofile_hard(void) {
    /* Raising the hard limit needs CAP_SYS_RESOURCE; only this process is affected. */
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) < 0) return -1;
    r.rlim_max += 1;
    return setrlimit(RLIMIT_NOFILE, &r);
}

static int try_mknod(void) {
    /* A character device (/dev/null's numbers) in the container's own /dev tmpfs, removed
     * at once: CAP_MKNOD is checked first (EPERM without it). */
    const char* path = "/dev/caprun-probe-null";
    int r = mknod(path, S_IFCHR | 0600, makedev(1, 3));
    int err = errno;
    if (r == 0) unlink(path);
    errno = err;
    return r;
}

struct probe {
    const char* name;
    int (*fn)(void);
};

static const struct probe probes[] = {
    {"sethostname", try_sethostname},
    {"setdomainname", try_setdomainname},
    {"chroot", try_chroot},
    {"mknod", try_mknod},
    {"mount", try_mount},
    {"get_mempolicy", try_get_mempolicy},
    {"delete_module", try_delete_module},
    {"settimeofday", try_settimeofday},
    {"reboot", try_reboot},
    {"raw_socket", try_raw_socket},
    {"bind_port_80", try_bind_port_80},
    {"rcvbufforce", try_rcvbufforce},
    {"raise_nofile_hard", try_raise_nofile_hard},
};
#define NPROBES (sizeof probes / sizeof probes[0])

static void print_result(const char* name, int r, int err, int first) {
    const char* res = r == 0 ? "OK" : strerrorname_np(err);
    printf("%s\"%s\":\"%s\"", first ? "" : ",", name, res ? res : "EUNKNOWN");
}

static int run_syscalls(int argc, char** argv) {
    int first = 1;
    printf("{");
    if (argc == 0) {
        for (size_t i = 0; i < NPROBES; i++) {
            errno = 0;
            int r = probes[i].fn();
            print_result(probes[i].name, r, errno, first);
            first = 0;
        }
    }
    for (int a = 0; a < argc; a++) {
        size_t i;
        for (i = 0; i < NPROBES; i++)
            if (strcmp(argv[a], probes[i].name) == 0) break;
        if (i == NPROBES) {
            fprintf(stderr, "probe: unknown syscall probe \"%s\" (see: probe list)\n", argv[a]);
            return 2;
        }
        errno = 0;
        int r = probes[i].fn();
        print_result(probes[i].name, r, errno, first);
        first = 0;
    }
    printf("}");
    return 0;
}

static void print_caps(void) {
    FILE* f = fopen("/proc/self/status", "re");
    char line[512];
    int first = 1;
    printf("{");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            char key[64], val[128];
            if (sscanf(line, "%63[^:]:%*[ \t]%127s", key, val) != 2) continue;
            if (strncmp(key, "Cap", 3) == 0 || strcmp(key, "NoNewPrivs") == 0) {
                if (strcmp(key, "NoNewPrivs") == 0)
                    printf("%s\"%s\":%s", first ? "" : ",", key, val);
                else
                    printf("%s\"%s\":\"%s\"", first ? "" : ",", key, val);
                first = 0;
            }
        }
        fclose(f);
    }
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    getresuid(&ru, &eu, &su);
    getresgid(&rg, &eg, &sg);
    printf("%s\"uid\":%u,\"euid\":%u,\"gid\":%u,\"egid\":%u", first ? "" : ",", ru, eu, rg, eg);
    printf(",\"securebits\":%d", prctl(PR_GET_SECUREBITS));
    printf("}");
}

struct rl {
    const char* name;
    int resource;
};
static const struct rl rlimits[] = {
    {"nofile", RLIMIT_NOFILE},   {"nproc", RLIMIT_NPROC},   {"core", RLIMIT_CORE},
    {"memlock", RLIMIT_MEMLOCK}, {"stack", RLIMIT_STACK},   {"cpu", RLIMIT_CPU},
    {"fsize", RLIMIT_FSIZE},     {"as", RLIMIT_AS},         {"msgqueue", RLIMIT_MSGQUEUE},
    {"nice", RLIMIT_NICE},       {"rtprio", RLIMIT_RTPRIO}, {"sigpending", RLIMIT_SIGPENDING},
};

static void print_limit(rlim_t v) {
    if (v == RLIM_INFINITY)
        printf("unlimited");
    else
        printf("%llu", (unsigned long long)v);
}

static int print_rlimit(const char* name) {
    for (size_t i = 0; i < sizeof rlimits / sizeof rlimits[0]; i++) {
        if (strcmp(name, rlimits[i].name) != 0) continue;
        struct rlimit r;
        if (getrlimit(rlimits[i].resource, &r) < 0) {
            perror("probe: getrlimit");
            return 1;
        }
        print_limit(r.rlim_cur);
        printf(" ");
        print_limit(r.rlim_max);
        printf("\n");
        return 0;
    }
    fprintf(stderr, "probe: unknown rlimit \"%s\"\n", name);
    return 2;
}

static int print_fds(void) {
    DIR* d = opendir("/proc/self/fd");
    if (!d) {
        perror("probe: /proc/self/fd");
        return 1;
    }
    int self = dirfd(d);
    int first = 1;
    struct dirent* e;
    printf("{");
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (atoi(e->d_name) == self) continue;
        char link[300], target[4096];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n < 0 ? 0 : n] = 0;
        printf("%s\"%s\":\"", first ? "" : ",", e->d_name);
        for (char* c = target; *c; c++) {
            if (*c == '"' || *c == '\\') putchar('\\');
            putchar(*c);
        }
        printf("\"");
        first = 0;
    }
    printf("}\n");
    closedir(d);
    return 0;
}

static int print_session_keyring(void) {
    char buf[512];
    /* KEY_SPEC_SESSION_KEYRING is -3; describe does not create a missing one. */
    long n = syscall(SYS_keyctl, 6 /* KEYCTL_DESCRIBE */, -3, buf, sizeof buf - 1, 0);
    if (n < 0) {
        printf("%s\n", strerrorname_np(errno) ? strerrorname_np(errno) : "errno");
        return 1;
    }
    buf[sizeof buf - 1] = 0;
    printf("%s\n", buf);
    return 0;
}

static int subreaper(int argc, char** argv) {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        perror("probe: PR_SET_CHILD_SUBREAPER");
        return 1;
    }
    pid_t child = fork();
    if (child < 0) return 1;
    if (child == 0) {
        execvp(argv[0], argv);
        perror("probe: exec");
        _exit(127);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    (void)argc;
    DIR* d = opendir("/proc");
    struct dirent* e;
    pid_t self = getpid();
    while (d && (e = readdir(d)) != NULL) {
        int pid = atoi(e->d_name);
        if (pid <= 0) continue;
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE* f = fopen(path, "re");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        char* rp = strrchr(buf, ')');
        int ppid = 0;
        char state;
        if (rp && sscanf(rp + 2, "%c %d", &state, &ppid) == 2 && ppid == self) printf("%d\n", pid);
    }
    if (d) closedir(d);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* True when `st` is one of the two programs of the test rootfs (busybox, the probe). */
static int own_file(const struct stat* st) {
    const char* own[] = {"/bin/busybox", "/bin/probe"};
    for (size_t i = 0; i < 2; i++) {
        struct stat o;
        if (stat(own[i], &o) == 0 && o.st_dev == st->st_dev && o.st_ino == st->st_ino) return 1;
    }
    return 0;
}

static int exe_watch(const char* stopfile) {
    long guarded = 0, opened = 0, written = 0;
    pid_t self = getpid();
    /* Each pid is counted once. */
    static unsigned char counted[1 << 22];
    while (access(stopfile, F_OK) != 0) {
        DIR* d = opendir("/proc");
        if (d == NULL) return 1;
        struct dirent* e;
        while ((e = readdir(d)) != NULL) {
            char* end;
            long pid = strtol(e->d_name, &end, 10);
            if (*end != '\0' || pid <= 0 || pid == self || pid >= (1 << 22)) continue;
            if (counted[pid]) continue;
            char path[64];
            snprintf(path, sizeof path, "/proc/%ld/exe", pid);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                if (errno == EACCES || errno == EPERM) {
                    counted[pid] = 1;
                    guarded++;
                }
                continue;
            }
            struct stat st;
            if (fstat(fd, &st) == 0 && own_file(&st)) {
                close(fd);
                continue;
            }
            counted[pid] = 1;
            opened++;
            /* The runtime's binary is held open: wait for its process to go, then try to
             * reopen it for writing, as the exploit does. */
            char proc[64];
            snprintf(proc, sizeof proc, "/proc/%ld", pid);
            for (int i = 0; i < 2000 && access(proc, F_OK) == 0; i++) usleep(1000);
            char self_fd[64];
            snprintf(self_fd, sizeof self_fd, "/proc/self/fd/%d", fd);
            int w = open(self_fd, O_WRONLY | O_CLOEXEC);
            if (w >= 0) {
                written++;
                close(w);
            }
            close(fd);
        }
        closedir(d);
    }
    printf("{\"guarded\":%ld,\"opened\":%ld,\"written\":%ld}\n", guarded, opened, written);
    return 0;
}

/* A capability-aware program (as iputils' ping with file capabilities +p): raises its
 * effective set to its permitted set, then runs the rest of the command line. */
static int raise_effective(void) {
    struct {
        unsigned version;
        int pid;
    } hdr = {0x20080522, 0}; /* _LINUX_CAPABILITY_VERSION_3 */
    struct {
        unsigned effective, permitted, inheritable;
    } data[2];
    if (syscall(SYS_capget, &hdr, data) < 0) return -1;
    data[0].effective = data[0].permitted;
    data[1].effective = data[1].permitted;
    return (int)syscall(SYS_capset, &hdr, data);
}

int main(int argc, char** argv) {
    if (argc > 1 && strcmp(argv[1], "aware") == 0) {
        if (raise_effective() < 0) {
            perror("probe: aware: capset");
            return 2;
        }
        argc--;
        argv++;
    }
    const char* cmd = argc > 1 ? argv[1] : "";
    if (strcmp(cmd, "") == 0) {
        printf("{\"caps\":");
        print_caps();
        printf(",\"syscalls\":");
        run_syscalls(0, NULL);
        printf("}\n");
        return 0;
    }
    if (strcmp(cmd, "caps") == 0) {
        print_caps();
        printf("\n");
        return 0;
    }
    if (strcmp(cmd, "syscalls") == 0) {
        int r = run_syscalls(argc - 2, argv + 2);
        printf("\n");
        return r;
    }
    if (strcmp(cmd, "rlimit") == 0 && argc == 3) return print_rlimit(argv[2]);
    if (strcmp(cmd, "fds") == 0) return print_fds();
    if (strcmp(cmd, "keyring") == 0) return print_session_keyring();
    if (strcmp(cmd, "subreaper") == 0 && argc > 2) return subreaper(argc - 2, argv + 2);
    if (strcmp(cmd, "exe-watch") == 0 && argc == 3) return exe_watch(argv[2]);
    if (strcmp(cmd, "list") == 0) {
        for (size_t i = 0; i < NPROBES; i++) printf("%s\n", probes[i].name);
        return 0;
    }
    fprintf(stderr,
            "usage: probe [aware] [caps | syscalls [NAME...] | rlimit NAME | fds | list |"
            " keyring | subreaper CMD [ARG...] | exe-watch FILE]\n");
    return 2;
}
