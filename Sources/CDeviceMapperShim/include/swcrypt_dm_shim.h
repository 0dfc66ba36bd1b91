#ifndef SWCRYPT_DM_SHIM_H
#define SWCRYPT_DM_SHIM_H
/*
 * Why this target exists: libdevmapper's log hook (dm_log_with_errno_init) takes a
 * C-variadic callback, which Swift cannot implement. This shim formats each
 * message and hands the finished line to a plain callback. It can go if
 * libdevmapper ever offers a va_list or preformatted hook.
 * Imported only by SwcryptDeviceMapper.
 */
typedef void (*swcrypt_shim_dm_log_sink)(int level, int dm_errno_or_class, const char *message);

/* Routes libdevmapper's log into `sink` (NULL restores libdevmapper's default). */
void swcrypt_shim_dm_log_install(swcrypt_shim_dm_log_sink sink);


/* Flexible array members (`char name[]`) are not imported by Swift. */
struct dm_names;
struct dm_versions;
const char *swcrypt_shim_dm_names_name(const struct dm_names *names);
const char *swcrypt_shim_dm_versions_name(const struct dm_versions *versions);
#endif
