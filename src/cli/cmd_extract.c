/*
 * cmd_extract.c — `colbundle extract`: a verified bundle's files to a
 * directory, never overwriting and never following a link.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/common.h"

/* Opens (creating when asked) each directory of path's parent under root
 * without following symlinks; returns a directory fd and the last
 * component, or -1. */
static int open_parent(int root, const char *path, bool create, const char **leaf)
{
	char comp[256];
	int fd = dup(root);
	const char *p = path;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash) {
			*leaf = p;
			return fd;
		}
		size_t n = (size_t)(slash - p);
		if (n >= sizeof comp) {
			close(fd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, n);
		comp[n] = 0;
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, comp, 0755) != 0 && errno != EEXIST) {
				close(fd);
				return -1;
			}
			next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		close(fd);
		if (next < 0)
			return -1;
		fd = next;
		p = slash + 1;
	}
}

static int run(int argc, char **argv)
{
	cli_common c = {0};
	const char *bundle = NULL, *dir = NULL;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_arg(&c, "extract", argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		if (!cli_positional("extract", argv[i], &bundle, &dir, NULL))
			return EXIT_USAGE;
	}
	if (!bundle || !dir) {
		cli_err("extract", "a bundle and a directory are required");
		return EXIT_USAGE;
	}
	cli_bundle cb;
	int ex = cli_open_bundle(&c, "extract", bundle, &cb);
	if (ex) {
		cli_close_bundle(&cb);
		return ex;
	}
	colb_err rc = colb_bundle_verify_files(cb.b);
	if (rc) {
		cli_err("extract", "%s: REFUSED: %s", cb.path, colb_bundle_error(cb.b));
		cli_close_bundle(&cb);
		return cli_exit_for(rc);
	}
	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		cli_err("extract", "%s: %s", dir, strerror(errno));
		cli_close_bundle(&cb);
		return EXIT_IOERR;
	}
	int root = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (root < 0) {
		cli_err("extract", "%s: %s", dir, strerror(errno));
		cli_close_bundle(&cb);
		return EXIT_IOERR;
	}
	size_t n = colb_bundle_file_count(cb.b);
	/* Nothing is written when any target already exists. */
	for (size_t i = 0; i < n && !ex; i++) {
		colb_file_info fi;
		const char *leaf;
		struct stat st;
		if (colb_bundle_file_at(cb.b, i, &fi) != COLB_OK)
			continue;
		int pd = open_parent(root, fi.path, false, &leaf);
		if (pd < 0) {
			if (errno != ENOENT) {
				cli_err("extract", "%s/%s: a parent is not a plain directory", dir, fi.path);
				ex = EXIT_REFUSED;
			}
			continue;
		}
		if (fstatat(pd, leaf, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			cli_err("extract", "%s/%s exists; not overwriting", dir, fi.path);
			ex = EXIT_REFUSED;
		}
		close(pd);
	}
	for (size_t i = 0; i < n && !ex; i++) {
		colb_file_info fi;
		const uint8_t *data;
		size_t len;
		const char *leaf;
		if (colb_bundle_file_at(cb.b, i, &fi) != COLB_OK ||
		    colb_bundle_read(cb.b, fi.path, &data, &len) != COLB_OK) {
			cli_err("extract", "%s", colb_bundle_error(cb.b));
			ex = EXIT_REFUSED;
			break;
		}
		int pd = open_parent(root, fi.path, true, &leaf);
		int fd = pd < 0 ? -1 : openat(pd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0) {
			cli_err("extract", "%s/%s: %s", dir, fi.path, strerror(errno));
			ex = errno == EEXIST ? EXIT_REFUSED : EXIT_IOERR;
		} else {
			size_t off = 0;
			while (off < len) {
				ssize_t w = write(fd, data + off, len - off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					break;
				off += (size_t)w;
			}
			if (off != len || close(fd) != 0) {
				cli_err("extract", "%s/%s: write failed", dir, fi.path);
				ex = EXIT_IOERR;
			}
		}
		if (pd >= 0)
			close(pd);
	}
	close(root);
	if (!ex)
		printf("extracted %zu files of %s into %s\n", n, cb.path, dir);
	cli_close_bundle(&cb);
	return ex;
}

const cli_command cmd_extract = {
	.name = "extract",
	.summary = "write a verified bundle's files to a directory",
	.usage = "usage: colbundle extract B.colb DIR [trust options]\n\n"
		 "Verifies the bundle and every file, then writes the files under DIR\n"
		 "(created if absent) by their bundle paths. Refuses (exit 1, nothing written)\n"
		 "when any target exists; never follows a symbolic link.\n\n"
		 CLI_TRUST_USAGE,
	.run = run,
};
