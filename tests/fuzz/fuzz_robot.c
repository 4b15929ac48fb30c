/*
 * fuzz_robot.c - the WeChat robot's answer read from any body, and any
 * text cut and masked as the robot would get it: an answer is one of the
 * four and 0 only for errcode 0; a cut is UTF-8 within max, the text's
 * own prefix, "…" when cut; a masked value is UTF-8 within its buffer.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mask.h"
#include "robot.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_answer(const uint8_t *data, size_t size)
{
	long long code = 12345;
	enum robot_answer a = robot_answer((const char *)data, size, &code);

	switch (a) {
	case ROBOT_OK:
		if (code != 0)
			abort();
		break;
	case ROBOT_RETRY:
		if (code != 45009 && code != -1)
			abort();
		break;
	case ROBOT_STOPPED:
		if (code != 93000)
			abort();
		break;
	case ROBOT_ERROR:
		if (code == 0 || code == 45009 || code == -1 || code == 93000)
			abort();
		break;
	default:
		abort();
	}
}

/* s cut to max: UTF-8, within max, s itself when it fits (but for '?'
 * in place of bad bytes), else a prefix of it and the ellipsis. */
static void
check_cut(const char *s, size_t max)
{
	char out[300];
	size_t len = strlen(s), n, body, i;

	n = robot_cut(s, max, out, sizeof(out));
	if (n != strlen(out) || n > max || n >= sizeof(out) ||
	    !utf8_valid(out, n))
		abort();
	if (len <= max && len < sizeof(out) && n != len)
		abort();
	body = n;
	if (n < len && max >= 3 && sizeof(out) > 3) {
		if (n < 3 || memcmp(out + n - 3, "\xe2\x80\xa6", 3) != 0)
			abort();
		body = n - 3;
	}
	for (i = 0; i < body; i++)
		if (out[i] != s[i] && out[i] != '?')
			abort();
}

typedef void mask_fn(const char *, char *, size_t);

static void
check_mask(mask_fn *f, const char *s, size_t size)
{
	char out[64];
	size_t n;

	memset(out, 0x55, sizeof(out));
	f(s, out, size);
	if (size == 0)
		return;
	n = strnlen(out, size);
	if (n == size || !utf8_valid(out, n))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	size_t max;

	if (s == NULL)
		return 0;
	check_answer(data, size);
	memcpy(s, data, size);
	s[size] = '\0';
	max = size > 0 ? data[0] : 0;
	check_cut(s, max);
	check_cut(s, max % 8);
	check_cut(s, size);
	check_mask(mask_name, s, 1 + max % 63);
	check_mask(mask_mobile, s, 1 + max % 63);
	check_mask(mask_plate, s, 1 + max % 63);
	check_mask(mask_plate, s, 0);
	free(s);
	return 0;
}
