/*
 * fuzz_face_gate.c - the face_gate driver's decode of .../face and .../card
 * payloads, and the deny or open that answers a request whose id it read.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz_driver.h"
#include "mask.h"
#include "util.h"

static const struct driver *drv;
static struct device gate;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	drv = fuzz_device(&gate, "face_gate", "gate-north");
	return 0;
}

/* Encode cmd as gate.c does, and check the gate would read the id back. */
static void
answer(const struct command *cmd)
{
	char buf[1024], small[16]; /* buf: outbox.c's ENCODED_MAX */
	json_t *root, *v;
	int n;

	n = drv->mqtt->encode(&gate, cmd, buf, sizeof(buf));
	/* Every readable id gets its answer (DESIGN 4.1). */
	if (n <= 0 || (size_t)n >= sizeof(buf))
		abort();
	root = json_loadb(buf, (size_t)n, 0, NULL);
	v = json_object_get(root, "request");
	if (!json_is_string(v) || strcmp(json_string_value(v), cmd->request))
		abort();
	json_decref(root);

	/* Too small a buffer must fail cleanly, not write past it. */
	n = drv->mqtt->encode(&gate, cmd, small, sizeof(small));
	if (n >= (int)sizeof(small))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event ev;
	struct access_request *r = &ev.u.access, req;
	struct command cmd = { 0 };
	enum driver_decode rc;
	char err[160], name[64], display[128];

	if (size < 1)
		return 0;
	rc = drv->mqtt->decode(&gate, data[0] & 1 ? "card" : "face", data + 1,
	    size - 1, &ev, err, sizeof(err));
	if (ev.type != EVENT_ACCESS)
		abort();
	req = *r;
	if (rc == DRIVER_IGNORE)
		abort(); /* both subtopics are the driver's own */
	if (!FUZZ_ENDS(req.request) || !FUZZ_ENDS(req.subject) ||
	    !FUZZ_ENDS(req.snapshot))
		abort();
	if (rc == DRIVER_BAD) {
		if (!FUZZ_ENDS(err))
			abort();
		if (req.request[0] == '\0')
			return 0; /* journaled as rejected, no answer */
		cmd.action = COMMAND_DENY;
		cmd.request = req.request;
		cmd.reason = "invalid";
		cmd.display = "请求无效";
		answer(&cmd);
		return 0;
	}
	if (req.request[0] == '\0' || req.subject[0] == '\0')
		abort();

	/* Both answers a decoded request can get, with a masked name. */
	mask_name(req.subject, name, sizeof(name));
	snprintf(display, sizeof(display), "%s %s", name, "欢迎回家");
	cmd.action = COMMAND_OPEN;
	cmd.request = req.request;
	cmd.display = display;
	cmd.open_ms = device_gate(&gate)->open_ms;
	answer(&cmd);
	cmd.action = COMMAND_DENY;
	cmd.reason = "expired";
	cmd.display = "已过期";
	answer(&cmd);
	return 0;
}
