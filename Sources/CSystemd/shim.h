#ifndef SWCRYPT_CSYSTEMD_H
#define SWCRYPT_CSYSTEMD_H
/* Only the journal's structured logging (sd_journal_sendv); imported by SwcryptSystem. */
#include <systemd/sd-journal.h>
#endif
