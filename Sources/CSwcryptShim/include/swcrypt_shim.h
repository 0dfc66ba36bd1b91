#ifndef SWCRYPT_SHIM_H
#define SWCRYPT_SHIM_H
/*
 * Why this target exists: Swift cannot import function-like macros, and the
 * block-layer ioctl request numbers (_IO/_IOR) are exactly that. Every symbol
 * is prefixed swcrypt_shim_. It can go once Swift imports these macros.
 */
unsigned long swcrypt_shim_BLKGETSIZE64(void);
unsigned long swcrypt_shim_BLKSSZGET(void);
unsigned long swcrypt_shim_BLKRRPART(void);
unsigned long swcrypt_shim_BLKFLSBUF(void);
unsigned long swcrypt_shim_BLKZEROOUT(void);
/* fscrypt (linux/fscrypt.h): _IOR/_IOWR request numbers, same reason. Used only by the
   integration tests (Tests/SwcryptIntegrationTests/Fscrypt.swift), not by the product. */
unsigned long swcrypt_shim_FS_IOC_SET_ENCRYPTION_POLICY(void);
unsigned long swcrypt_shim_FS_IOC_GET_ENCRYPTION_POLICY_EX(void);
unsigned long swcrypt_shim_FS_IOC_ADD_ENCRYPTION_KEY(void);
unsigned long swcrypt_shim_FS_IOC_REMOVE_ENCRYPTION_KEY(void);
/* O_DIRECT is only visible to C with _GNU_SOURCE, which Swift's Glibc module does not set. */
int swcrypt_shim_O_DIRECT(void);

/* FIEMAP (linux/fiemap.h) of fd from byte `start`, flushing delayed allocation
 * first: up to `max` extents into the arrays. Returns the extent count (0: no
 * more) or -1 with errno set. FIEMAP_EXTENT_LAST is bit 0 of flags. */
int swcrypt_shim_fiemap(int fd, unsigned long long start, unsigned long long *logical,
                        unsigned long long *physical, unsigned long long *length,
                        unsigned int *flags, int max);
unsigned long swcrypt_shim_FIFREEZE(void);
unsigned long swcrypt_shim_FITHAW(void);
/* ioprio_set(2): this process in the idle I/O class (it gets the disk only when
 * nothing else wants it). 0 or -1 with errno. */
int swcrypt_shim_ioprio_idle(void);

/*
 * Loop devices (swcrypt testdev): the LOOP_* request numbers in <linux/loop.h>
 * are plain integer macros Swift imports by itself; the header is included for
 * `struct loop_config` (LOOP_CONFIGURE), whose C layout Swift must not guess.
 * No shim functions are needed for it.
 */
#include <linux/loop.h>

/*
 * AF_ALG (swcrypt check's AEAD benchmark): <linux/if_alg.h> gives ALG_SET_KEY,
 * ALG_SET_IV, ALG_SET_OP, ALG_SET_AEAD_ASSOCLEN, ALG_SET_AEAD_AUTHSIZE and
 * ALG_OP_ENCRYPT as plain integer macros Swift imports by itself. The control-
 * message helpers CMSG_SPACE and CMSG_LEN are function-like macros, so they are
 * here; they can go once Swift imports them.
 */
#include <stddef.h>
#include <linux/if_alg.h>
size_t swcrypt_shim_CMSG_SPACE(size_t length);
size_t swcrypt_shim_CMSG_LEN(size_t length);

/* swcrypt's version string, fixed at build time (SWCRYPT_VERSION). */
const char *swcrypt_shim_version(void);
/* prctl(PR_SET_DUMPABLE, 0) and PR_GET_DUMPABLE (prctl is variadic). */
int swcrypt_shim_set_undumpable(void);
int swcrypt_shim_is_dumpable(void);
/* Terminal echo off for a passphrase prompt; SIGINT/SIGTERM/SIGHUP restore it
 * before ending the process. Returns -1 when FD is not a terminal. */
int swcrypt_shim_echo_off(int fd);
void swcrypt_shim_echo_restore(void);
/* Fatal signals end the process with exit 128+N and no core dump. */
int swcrypt_shim_exit_on_fatal_signals(void);
/* The file the dynamic loader mapped SYMBOL from (dladdr), or NULL. */
const char *swcrypt_shim_object_path(const void *symbol);
#endif
