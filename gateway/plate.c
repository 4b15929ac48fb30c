/*
 * plate.c - one spelling for a licence plate, whoever typed it: a camera,
 * a full-width Chinese keyboard, or staff with spaces and dots.  Only the
 * spelling: which plates may pass is access.c's business.
 */
#include <stdint.h>
#include <string.h>

#include "plate.h"
#include "util.h"

/* The code point at s, already passed by utf8_valid(), and its length. */
static size_t
utf8_decode(const unsigned char *s, uint32_t *cp)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4, i;

	*cp = n == 1 ? s[0] : s[0] & (0x7fu >> n);
	for (i = 1; i < n; i++)
		*cp = *cp << 6 | (s[i] & 0x3fu);
	return n;
}

static size_t
utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

int
plate_normalise(const char *plate, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)plate;
	size_t o = 0, k;
	char enc[4];
	uint32_t cp;

	if (size == 0)
		return -1;
	out[0] = '\0';
	if (!utf8_valid(plate, strlen(plate)))
		return -1;
	while (*s) {
		k = utf8_decode(s, &cp);
		s += k;
		if (cp >= 0xff01 && cp <= 0xff5e)
			cp -= 0xfee0; /* full-width forms */
		if (cp == ' ' || cp == '\t' || cp == 0x3000 || cp == '-' ||
		    cp == '.' || cp == 0xb7 || cp == 0x2022 || cp == 0x30fb)
			continue;
		if (cp >= 'a' && cp <= 'z')
			cp -= 'a' - 'A';
		k = utf8_encode(cp, enc);
		if (o + k + 1 > size)
			return -1;
		memcpy(out + o, enc, k);
		o += k;
		out[o] = '\0';
	}
	k = utf8_count(out);
	return k == 7 || k == 8 ? 0 : -1;
}

int
plate_skeleton(const char *plate, char *out, size_t size)
{
	size_t i, len = strlen(plate);

	if (len + 1 > size)
		return -1;
	for (i = 0; i <= len; i++) {
		switch (plate[i]) {
		case 'D':
		case 'Q':
			out[i] = '0';
			break;
		case 'B':
			out[i] = '8';
			break;
		case 'Z':
			out[i] = '2';
			break;
		case 'S':
			out[i] = '5';
			break;
		case 'I':
			out[i] = '1';
			break;
		default:
			out[i] = plate[i];
		}
	}
	return 0;
}
