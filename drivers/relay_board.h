/*
 * relay_board.h - the Waveshare "Modbus RTU Relay" board's register map
 * (DESIGN §4.2), for every driver of something wired to one: a barrier,
 * and later a fire panel's alarm contact.  coil n (0-7) drives relay n;
 * coil 0x0200+n written with a delay in tenths of a second is "flash
 * on": the board closes the relay and opens it again by itself; discrete
 * inputs 0-7 are dry contacts (a loop detector, an alarm relay).
 */
#ifndef RELAY_BOARD_H
#define RELAY_BOARD_H

#include <stddef.h>

#include "driver.h"

#define RELAY_BOARD_RELAYS    8
#define RELAY_BOARD_INPUTS    8
#define RELAY_BOARD_FLASH_MS  100 /* the unit of a flash's delay */
#define RELAY_BOARD_FLASH_MAX 255 /* tenths: the longest flash */

/* Each fills ops[0] and returns 1, or -1 when max is 0. */
/* Relay n closed for ms (a multiple of RELAY_BOARD_FLASH_MS), then let
 * go by the board itself. */
int relay_board_flash(struct modbus_op *ops, size_t max, unsigned relay,
    int ms);
/* Relay n held closed (on) or open (off) until told otherwise. */
int relay_board_set(struct modbus_op *ops, size_t max, unsigned relay, bool on);
/* All the inputs, in one read. */
int relay_board_read_inputs(struct modbus_op *ops, size_t max);

/* The replies to a poll of relay_board_read_inputs() alone (nops of
 * them, one expected) as levels: 0, or -1 with err. */
int relay_board_inputs(const struct modbus_op *ops, size_t nops,
    struct input_levels *out, char *err, size_t errlen);

#endif
