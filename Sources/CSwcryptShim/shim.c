#define _GNU_SOURCE
#include "swcrypt_shim.h"
#include <fcntl.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/fs.h>
#include <linux/fscrypt.h>
#include <linux/fiemap.h>
#include <linux/ioprio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

unsigned long swcrypt_shim_BLKGETSIZE64(void) { return BLKGETSIZE64; }
unsigned long swcrypt_shim_BLKSSZGET(void) { return BLKSSZGET; }
unsigned long swcrypt_shim_BLKRRPART(void) { return BLKRRPART; }
unsigned long swcrypt_shim_BLKFLSBUF(void) { return BLKFLSBUF; }
unsigned long swcrypt_shim_BLKZEROOUT(void) { return BLKZEROOUT; }

unsigned long swcrypt_shim_FS_IOC_SET_ENCRYPTION_POLICY(void) { return FS_IOC_SET_ENCRYPTION_POLICY; }
unsigned long swcrypt_shim_FS_IOC_GET_ENCRYPTION_POLICY_EX(void) { return FS_IOC_GET_ENCRYPTION_POLICY_EX; }
unsigned long swcrypt_shim_FS_IOC_ADD_ENCRYPTION_KEY(void) { return FS_IOC_ADD_ENCRYPTION_KEY; }
unsigned long swcrypt_shim_FS_IOC_REMOVE_ENCRYPTION_KEY(void) { return FS_IOC_REMOVE_ENCRYPTION_KEY; }

int swcrypt_shim_O_DIRECT(void) { return O_DIRECT; }

int swcrypt_shim_fiemap(int fd, unsigned long long start, unsigned long long *logical,
                        unsigned long long *physical, unsigned long long *length,
                        unsigned int *flags, int max) {
    size_t size = sizeof(struct fiemap) + (size_t)max * sizeof(struct fiemap_extent);
    struct fiemap *map = calloc(1, size);
    if (!map) return -1;
    map->fm_start = start;
    map->fm_length = FIEMAP_MAX_OFFSET - start;
    map->fm_flags = FIEMAP_FLAG_SYNC;
    map->fm_extent_count = (unsigned int)max;
    if (ioctl(fd, FS_IOC_FIEMAP, map) < 0) { free(map); return -1; }
    int n = (int)map->fm_mapped_extents;
    for (int i = 0; i < n; i++) {
        logical[i] = map->fm_extents[i].fe_logical;
        physical[i] = map->fm_extents[i].fe_physical;
        length[i] = map->fm_extents[i].fe_length;
        flags[i] = (map->fm_extents[i].fe_flags & FIEMAP_EXTENT_LAST) ? 1u : 0u;
        if (map->fm_extents[i].fe_flags & (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_DATA_INLINE))
            flags[i] |= 2u;   /* no usable physical position */
    }
    free(map);
    return n;
}

unsigned long swcrypt_shim_FIFREEZE(void) { return FIFREEZE; }
unsigned long swcrypt_shim_FITHAW(void) { return FITHAW; }

int swcrypt_shim_ioprio_idle(void) {
    return (int)syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0));
}

size_t swcrypt_shim_CMSG_SPACE(size_t length) { return CMSG_SPACE(length); }
size_t swcrypt_shim_CMSG_LEN(size_t length) { return CMSG_LEN(length); }

/* swcrypt's own version, set by the release build (Scripts/build-release passes
 * -Xcc -DSWCRYPT_VERSION="..." from `git describe`); a plain `swift build`
 * says so instead of guessing. A string macro cannot be imported into Swift. */
#ifndef SWCRYPT_VERSION
#define SWCRYPT_VERSION "0.0.0+unreleased (a development build, not made by Scripts/build-release)"
#endif
const char *swcrypt_shim_version(void) { return SWCRYPT_VERSION; }

/* dladdr is a GNU extension (Swift's Glibc module does not see it): the file
 * the dynamic loader mapped SYMBOL from, or NULL. */
#include <dlfcn.h>
const char *swcrypt_shim_object_path(const void *symbol) {
    Dl_info info;
    if (dladdr(symbol, &info) == 0) return NULL;
    return info.dli_fname;
}

/* prctl is variadic, which Swift cannot call. PR_SET_DUMPABLE 0: no core dump
 * of this process reaches any handler (a pipe core_pattern such as
 * systemd-coredump or apport ignores RLIMIT_CORE), and no other user's process
 * may ptrace it or read its /proc/PID/mem. Returns prctl's result. */
#include <sys/prctl.h>
int swcrypt_shim_set_undumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
int swcrypt_shim_is_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

/* A fatal signal ends swcrypt with exit status 128+N and one line on stderr,
 * never with a core dump: with fs.suid_dumpable = 2 (systemd-coredump sets it)
 * the kernel still hands even a non-dumpable process to a pipe core_pattern,
 * and libcryptsetup's volume key and passphrase copies live in ordinary heap.
 * Only async-signal-safe calls here. SIGKILL needs no handler: it never dumps. */
#include <signal.h>
#include <unistd.h>
#include <string.h>
static void swcrypt_shim_fatal(int sig) {
    static const char msg[] = "swcrypt: ended by a fatal signal; no core dump is made (it could hold keys)\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(128 + sig);
}
int swcrypt_shim_exit_on_fatal_signals(void) {
    static const int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGABRT, SIGQUIT, SIGSYS, SIGXCPU, SIGXFSZ };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = swcrypt_shim_fatal;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
        if (sigaction(signals[i], &sa, NULL) != 0) return -1;
    return 0;
}

/* Echo off while a passphrase is typed, with the terminal restored whatever
 * ends the prompt: Ctrl-C, SIGTERM or a hang-up restore the saved settings and
 * then end the process with that signal, as it would have without swcrypt. */
#include <termios.h>
static struct termios swcrypt_saved_termios;
static int swcrypt_prompt_fd = -1;
static struct sigaction swcrypt_prompt_old[3];
static const int swcrypt_prompt_signals[3] = { SIGINT, SIGTERM, SIGHUP };

static void swcrypt_prompt_signal(int sig) {
    if (swcrypt_prompt_fd >= 0) {
        tcsetattr(swcrypt_prompt_fd, TCSANOW, &swcrypt_saved_termios);
        ssize_t ignored = write(swcrypt_prompt_fd, "\n", 1);
        (void)ignored;
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

int swcrypt_shim_echo_off(int fd) {
    if (tcgetattr(fd, &swcrypt_saved_termios) != 0) return -1;
    swcrypt_prompt_fd = fd;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = swcrypt_prompt_signal;
    sigfillset(&sa.sa_mask);
    for (int i = 0; i < 3; i++) sigaction(swcrypt_prompt_signals[i], &sa, &swcrypt_prompt_old[i]);
    struct termios quiet = swcrypt_saved_termios;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    return tcsetattr(fd, TCSAFLUSH, &quiet);
}

void swcrypt_shim_echo_restore(void) {
    if (swcrypt_prompt_fd < 0) return;
    tcsetattr(swcrypt_prompt_fd, TCSAFLUSH, &swcrypt_saved_termios);
    for (int i = 0; i < 3; i++) sigaction(swcrypt_prompt_signals[i], &swcrypt_prompt_old[i], NULL);
    swcrypt_prompt_fd = -1;
}
