/*
 * plate.h - a licence plate as it is stored and matched, so that "吉A·12345",
 * "吉a 12345" and "吉Ａ１２３４５" are one plate.  Not a table of plates.
 */
#ifndef PLATE_H
#define PLATE_H

#include <stddef.h>

#define PLATE_MAX 32 /* bytes of a normalised plate, NUL too */

/*
 * Full-width forms to ASCII, upper case, spaces (also U+3000) and the
 * separators '·' '-' '.' removed.  out is always NUL-terminated; 0 when
 * the result is a plate of 7 or 8 characters (8: new-energy), -1
 * otherwise (also for bytes that are not UTF-8, or out too small).
 */
int plate_normalise(const char *plate, char *out, size_t size);

/*
 * The plate as a camera may confuse it: 0/D/Q, 8/B, 2/Z, 5/S and 1/I
 * each written as one character.  Two plates with one skeleton may be
 * one plate misread.  out as for plate_normalise(); 0, or -1 when out is
 * too small.
 */
int plate_skeleton(const char *plate, char *out, size_t size);

#endif
