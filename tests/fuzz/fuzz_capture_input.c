/*
 * fuzz_capture_input.c — the capture's parsers of outside bytes: the fleet
 * file, PCK Cert ID CSVs, platform_list.json (fleet.c), and the checks that a
 * service's answer is whole (answers.c). The first input byte picks which.
 *
 * The capture is a tool layer, not in the library the fuzzers link, so its
 * two parsing files are compiled in here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../src/capture/answers.c"
#include "../../src/capture/fleet.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t which = data[0] % 5;
	data++;
	size--;
	if (which == 3) {
		(void)cap_der_complete(data, size);
		return 0;
	}
	if (which == 4) {
		(void)cap_body_eval(data, size, "tcbInfo", "00906ED50000");
		(void)cap_body_eval(data, size, "enclaveIdentity", NULL);
		return 0;
	}
	/* The file parsers read paths: hand them the bytes through a memfd. */
	int fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	cap_fleet fl;
	memset(&fl, 0, sizeof fl);
	char err[512];
	if (which == 0)
		(void)load_csv(&fl, path, err, sizeof err);
	else if (which == 1)
		(void)load_platform_list(&fl, path, err, sizeof err);
	else
		(void)load_fleet_file(&fl, path, false, err, sizeof err);
	cap_fleet_free(&fl);
	close(fd);
	return 0;
}
