/*
 * mask.c - names, mobile numbers and plates as they may be shown: what
 * is kept of each, and never a byte that would make the text invalid.
 */
#include <stdbool.h>
#include <string.h>

#include "mask.h"
#include "util.h"

#define MOBILE_DIGITS_MAX 20 /* longer is no phone number */

/* An output buffer that takes whole characters until one does not fit. */
struct out {
	char *s;
	size_t size, len;
	bool full;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->full || o->len + n >= o->size) {
		/* Later characters would misplace what they show. */
		o->full = true;
		return;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

/* The character at s (len bytes left): its length, and whether it may
 * be shown as it is (well-formed UTF-8, no control character). */
static size_t
next_char(const char *s, size_t len, bool *showable)
{
	size_t k = utf8_char(s, len);

	if (k == 0) {
		*showable = false;
		return 1;
	}
	*showable = k > 1 || ((unsigned char)s[0] >= 0x20 && s[0] != 0x7f);
	return k;
}

/* One '*' for each character of s. */
static void
put_stars(struct out *o, const char *s)
{
	size_t len = strlen(s), i = 0;
	bool showable;

	while (i < len) {
		i += next_char(s + i, len - i, &showable);
		put(o, "*", 1);
	}
}

void
mask_name(const char *name, char *out, size_t size)
{
	struct out o = { out, size, 0, false };
	size_t len, i, k;
	bool showable;

	if (size == 0)
		return;
	out[0] = '\0';
	while (*name == ' ')
		name++;
	len = strlen(name);
	if (len == 0)
		return;
	k = next_char(name, len, &showable);
	if (showable)
		put(&o, name, k);
	else
		put(&o, "*", 1);
	for (i = k; i < len; i += k) {
		k = next_char(name + i, len - i, &showable);
		if (name[i] != ' ')
			put(&o, "*", 1);
	}
}

void
mask_mobile(const char *mobile, char *out, size_t size)
{
	struct out o = { out, size, 0, false };
	char digits[MOBILE_DIGITS_MAX];
	size_t n = 0, i;
	const char *p;
	bool plus = false;

	if (size == 0)
		return;
	out[0] = '\0';
	for (p = mobile; *p; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n == sizeof(digits))
				break;
			digits[n++] = *p;
		} else if (*p == '+' && n == 0 && !plus) {
			plus = true;
		} else if (*p != ' ' && *p != '-') {
			break;
		}
	}
	if (*p != '\0') {
		put_stars(&o, mobile);
		return;
	}
	if (plus)
		put(&o, "+", 1);
	for (i = 0; i < n; i++)
		put(&o, n >= 8 && (i < 3 || i >= n - 4) ? &digits[i] : "*", 1);
}

void
mask_plate(const char *plate, char *out, size_t size)
{
	struct out o = { out, size, 0, false };
	size_t len = strlen(plate), n = 0, i, k, c;
	bool showable;

	if (size == 0)
		return;
	out[0] = '\0';
	for (i = 0; i < len; i += k, n++)
		k = next_char(plate + i, len - i, &showable);
	if (n < 5) {
		put_stars(&o, plate);
		return;
	}
	for (i = 0, c = 0; i < len; i += k, c++) {
		k = next_char(plate + i, len - i, &showable);
		if (showable && (c < 2 || c >= n - 2))
			put(&o, plate + i, k);
		else
			put(&o, "*", 1);
	}
}
