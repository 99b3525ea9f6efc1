/* caprun's pod sandbox process: the pause image of the Kubernetes tests
 * (integration/callers/kubernetes.bats), built here so that nothing is pulled. Like
 * Kubernetes' own pause, it holds the pod's namespaces while doing nothing: as pid 1 of a
 * shared pid namespace it reaps the orphans it inherits, and SIGINT/SIGTERM end it with
 * status 0 (containerd stops the sandbox with SIGTERM). Static, so the image needs no libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
    (void)sig;
    _exit(0);
}

static void on_child(int sig) {
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    errno = saved;
}

int main(int argc, char** argv) {
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "caprun-pause: no arguments expected\n");
        return 2;
    }
    struct sigaction stop, child;
    memset(&stop, 0, sizeof stop);
    stop.sa_handler = on_stop;
    memset(&child, 0, sizeof child);
    child.sa_handler = on_child;
    child.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    if (sigaction(SIGINT, &stop, NULL) < 0 || sigaction(SIGTERM, &stop, NULL) < 0 ||
        sigaction(SIGCHLD, &child, NULL) < 0) {
        perror("caprun-pause: sigaction");
        return 1;
    }
    for (;;) pause();
}
