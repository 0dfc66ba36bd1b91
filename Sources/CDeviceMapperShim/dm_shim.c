#include "swcrypt_dm_shim.h"
#include <libdevmapper.h>
#include <stdarg.h>
#include <stdio.h>

static swcrypt_shim_dm_log_sink swcrypt_sink;

static void swcrypt_dm_log(int level, const char *file, int line, int dm_errno_or_class, const char *f, ...)
{
	char message[1024];
	va_list ap;
	(void)file;
	(void)line;
	if (!swcrypt_sink)
		return;
	va_start(ap, f);
	vsnprintf(message, sizeof(message), f, ap);
	va_end(ap);
	swcrypt_sink(level, dm_errno_or_class, message);
}

void swcrypt_shim_dm_log_install(swcrypt_shim_dm_log_sink sink)
{
	swcrypt_sink = sink;
	dm_log_with_errno_init(sink ? swcrypt_dm_log : NULL);
}

const char *swcrypt_shim_dm_names_name(const struct dm_names *names)
{
	return names->name;
}

const char *swcrypt_shim_dm_versions_name(const struct dm_versions *versions)
{
	return versions->name;
}
