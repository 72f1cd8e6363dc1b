// SPDX-License-Identifier: GPL-2.0-only
/*
 * image-btf: the kernel's BTF, cut out of its boot image.
 *
 * A kernel built with CONFIG_DEBUG_INFO_BTF carries its BTF in .BTF,
 * which is loaded with the kernel and so is a byte range of the raw boot
 * image (arm64's Image is the kernel's memory image, not an ELF file).
 * Building for another architecture needs that kernel's vmlinux.h, and
 * the image is what Debian's linux-image package holds: this finds the
 * BTF header in it, checks it, and writes the raw BTF that
 * `bpftool btf dump file FILE format c` reads.
 *
 * Usage: image-btf IMAGE OUT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BTF_MAGIC 0xeb9f

/* struct btf_header of include/uapi/linux/btf.h, little-endian. */
struct btf_hdr {
	uint16_t magic;
	uint8_t version;
	uint8_t flags;
	uint32_t hdr_len;
	uint32_t type_off;
	uint32_t type_len;
	uint32_t str_off;
	uint32_t str_len;
};

/*
 * Is there a whole BTF blob at @p (@left bytes to the end of the image)?
 * vmlinux's BTF has its types first and its strings right after, the
 * strings starting and ending with a NUL; its size is returned, 0 if not.
 */
static size_t btf_at(const uint8_t *p, size_t left)
{
	struct btf_hdr h;
	uint64_t end;

	if (left < sizeof(h))
		return 0;
	memcpy(&h, p, sizeof(h));
	if (h.magic != BTF_MAGIC || h.version != 1 || h.flags != 0 || h.hdr_len < sizeof(h) ||
	    h.hdr_len > 256 || h.type_off != 0 || h.str_off != h.type_len || h.type_len == 0 ||
	    h.str_len < 2)
		return 0;
	end = (uint64_t)h.hdr_len + h.str_off + h.str_len;
	if (end > left)
		return 0;
	if (p[h.hdr_len + h.str_off] != '\0' || p[end - 1] != '\0')
		return 0;
	return (size_t)end;
}

int main(int argc, char **argv)
{
	const uint8_t *img, *best = NULL;
	size_t best_len = 0;
	struct stat st;
	int fd, out;

	if (argc != 3) {
		fprintf(stderr, "usage: image-btf IMAGE OUT\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "image-btf: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (st.st_size < (off_t)sizeof(struct btf_hdr)) {
		fprintf(stderr, "image-btf: %s: too small to hold a kernel\n", argv[1]);
		return 1;
	}
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (img == MAP_FAILED) {
		fprintf(stderr, "image-btf: mmap %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (img[0] == 0x1f && img[1] == 0x8b) {
		fprintf(stderr, "image-btf: %s is gzip-compressed: decompress it first\n", argv[1]);
		return 1;
	}
	/* The section is 4-byte aligned; the largest blob is vmlinux's own. */
	for (size_t off = 0; off + sizeof(struct btf_hdr) <= (size_t)st.st_size; off += 4) {
		size_t len;

		if (img[off] != 0x9f || img[off + 1] != 0xeb)
			continue;
		len = btf_at(img + off, (size_t)st.st_size - off);
		if (len > best_len) {
			best = img + off;
			best_len = len;
		}
	}
	if (!best) {
		fprintf(stderr, "image-btf: %s: no BTF found (a kernel without CONFIG_DEBUG_INFO_BTF?)\n",
			argv[1]);
		return 1;
	}
	out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		fprintf(stderr, "image-btf: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	for (size_t done = 0; done < best_len;) {
		ssize_t n = write(out, best + done, best_len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "image-btf: writing %s: %s\n", argv[2], strerror(errno));
			return 1;
		}
		done += (size_t)n;
	}
	if (close(out) < 0) {
		fprintf(stderr, "image-btf: closing %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	printf("image-btf: %zu bytes of BTF at offset %zu of %s\n", best_len,
	       (size_t)(best - img), argv[1]);
	return 0;
}
