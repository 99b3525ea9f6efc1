// peak-rss N CMD...: runs CMD N times and prints the median peak resident set size (KiB) of
// the CMD process itself, as the kernel accounts it (wait4 rusage ru_maxrss).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: peak-rss N CMD [ARGS...]\n");
        return 2;
    }
    int n = std::atoi(argv[1]);
    std::vector<long> samples;
    for (int i = 0; i < n; ++i) {
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) {
            execvp(argv[2], argv + 2);
            _exit(127);
        }
        int status = 0;
        rusage ru{};
        if (wait4(pid, &status, 0, &ru) < 0) return 1;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            std::fprintf(stderr, "peak-rss: %s failed (status %d)\n", argv[2], status);
            return 1;
        }
        samples.push_back(ru.ru_maxrss);
    }
    std::sort(samples.begin(), samples.end());
    std::printf("%ld\n", samples[samples.size() / 2]);
    return 0;
}
