#ifndef SWCRYPT_CNVME_H
#define SWCRYPT_CNVME_H
#include <nvme/types.h>
#include <nvme/ioctl.h>
#include <nvme/linux.h>
#include <nvme/util.h>
#endif
