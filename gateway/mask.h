/*
 * mask.h - personal data as a gate's screen, a log line or the WeChat
 * group may show it: names, mobile numbers, plates.  The journal keeps
 * the real values; this is only what is shown.
 */
#ifndef MASK_H
#define MASK_H

#include <stddef.h>

/*
 * Each writes a NUL-terminated string that is valid UTF-8 whatever the
 * input (a byte that is not UTF-8 is never copied: it is shown as '*'),
 * and cuts before a character that does not fit in out, never inside
 * one.  Nothing is written when size is 0.
 */

/*
 * The surname (the first character) and one '*' for each other
 * character; spaces are not counted: "张三" -> "张*", "欧阳娜娜" -> "欧***",
 * "Li Lei" -> "L****".  A one-character name stays as it is; leading
 * spaces are skipped.  A first character that is a control or not UTF-8
 * is shown as '*'.
 */
void mask_name(const char *name, char *out, size_t size);

/*
 * A mobile number: the first three and the last four digits, one '*'
 * for each digit between ("13800000000" -> "138****0000"), when it has
 * at least 8 digits; fewer: every digit as '*'.  Spaces and '-' are
 * dropped, a leading '+' is kept ("+86 138-0000-0000" ->
 * "+861******0000").  Anything else is no number: one '*' per character.
 */
void mask_mobile(const char *mobile, char *out, size_t size);

/*
 * A plate as plate_normalise() leaves it: the first two characters
 * (province and city) and the last two, one '*' for each character
 * between: "吉A12345" -> "吉A***45", the new-energy "吉AD12345" ->
 * "吉A****45".  Shorter than five characters it is no plate: one '*'
 * per character.  A kept character that is a control or not UTF-8 is
 * shown as '*'.
 */
void mask_plate(const char *plate, char *out, size_t size);

#endif
